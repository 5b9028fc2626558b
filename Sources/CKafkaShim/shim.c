#include "CKafkaShim.h"

rd_kafka_resp_err_t carepath_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                     const void *key, size_t key_size,
                                     const void *value, size_t value_size,
                                     const carepath_header_t *headers, size_t header_count,
                                     void *opaque) {
    rd_kafka_headers_t *hdrs = NULL;
    if (header_count > 0) {
        hdrs = rd_kafka_headers_new(header_count);
        for (size_t i = 0; i < header_count; i++) {
            rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, (ssize_t)headers[i].size);
        }
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk,
        RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE((void *)value, value_size),
        RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_END);
    if (err && hdrs) {
        rd_kafka_headers_destroy(hdrs);  // on failure the headers stay ours
    }
    return err;
}
