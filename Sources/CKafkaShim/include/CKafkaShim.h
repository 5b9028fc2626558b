#ifndef CARE_PATH_KAFKA_SHIM_H
#define CARE_PATH_KAFKA_SHIM_H

// The few helpers Swift cannot express over librdkafka: the variadic
// rd_kafka_producev, and the raw C loops the benchmarks compare against.
// Only the Kafka module imports this.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>

/// One header of a message to produce.
typedef struct {
    const char *name;
    const void *value;
    size_t size;
} carepath_header_t;

/// Produces one message (copying key, value and headers) with an opaque
/// delivered to the delivery report callback. Returns the error code
/// (RD_KAFKA_RESP_ERR_NO_ERROR when enqueued).
rd_kafka_resp_err_t carepath_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                     const void *key, size_t key_size,
                                     const void *value, size_t value_size,
                                     const carepath_header_t *headers, size_t header_count,
                                     void *opaque);

/// The raw consume benchmark: reads `count` messages from an already
/// subscribed-or-assigned consumer with rd_kafka_consume_batch_queue in
/// batches of `batch`, touching every payload. Returns messages read (stops
/// early after `timeout_ms` without a message), and adds payload bytes to `*bytes`.
int64_t carepath_raw_consume(rd_kafka_t *rk, int64_t count, int batch, int timeout_ms, int64_t *bytes);

/// Sets the raw produce benchmark's delivery report callback on a configuration.
void carepath_raw_configure(rd_kafka_conf_t *conf);

/// The raw produce benchmark: produces `count` copies of `value` to `topic`
/// (round-robin over `partitions`) with rd_kafka_producev, polling for
/// delivery reports, then flushes. Returns messages delivered.
int64_t carepath_raw_produce(rd_kafka_t *rk, const char *topic, int partitions, int64_t count,
                             const void *value, size_t value_size);

/// Consumes `count` messages from the consumer's assignment and produces each
/// (key and value) to `out_topic`: the raw consume-then-produce pipe that
/// carepath's end-to-end figure is compared with. Returns the messages delivered.
int64_t carepath_raw_pipe(rd_kafka_t *consumer, rd_kafka_t *producer, const char *out_topic, int64_t count,
                          int batch, int timeout_ms);

#endif
