#include "CKafkaBenchmarkShim.h"
#include <stdio.h>

int64_t carepath_raw_consume(rd_kafka_t *rk, int64_t count, int batch, int timeout_ms, int64_t *bytes) {
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *messages[batch];
    int64_t read = 0;
    while (read < count) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, timeout_ms, messages, (size_t)batch);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) {
            if (!messages[i]->err) {
                read++;
                *bytes += (int64_t)messages[i]->len;
            }
            rd_kafka_message_destroy(messages[i]);
        }
    }
    rd_kafka_queue_destroy(queue);
    return read;
}

static int64_t raw_delivered;

static void raw_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    (void)opaque;
    if (!message->err) raw_delivered++;
}

void carepath_raw_configure(rd_kafka_conf_t *conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, raw_delivery);
}

int64_t carepath_raw_produce(rd_kafka_t *rk, const char *topic, int partitions, int64_t count,
                             const void *value, size_t value_size) {
    raw_delivered = 0;
    char key[32];
    for (int64_t i = 0; i < count; i++) {
        int key_size = snprintf(key, sizeof key, "P%06lld", (long long)(i % 100000));
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)key_size),
                RD_KAFKA_V_VALUE((void *)value, value_size), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (err) return -1;
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    return raw_delivered;
}

int64_t carepath_raw_pipe(rd_kafka_t *consumer, rd_kafka_t *producer, const char *out_topic, int64_t count,
                          int batch, int timeout_ms) {
    raw_delivered = 0;
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(consumer);
    rd_kafka_message_t *messages[batch];
    int64_t read = 0;
    while (read < count) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, timeout_ms, messages, (size_t)batch);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = messages[i];
            if (!m->err) {
                read++;
                for (;;) {
                    rd_kafka_resp_err_t err = rd_kafka_producev(
                        producer, RD_KAFKA_V_TOPIC(out_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_END);
                    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        rd_kafka_poll(producer, 10);
                        continue;
                    }
                    break;
                }
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(producer, 0);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_flush(producer, 60000);
    return raw_delivered;
}
