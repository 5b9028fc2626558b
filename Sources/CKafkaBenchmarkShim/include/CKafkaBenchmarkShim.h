#ifndef CARE_PATH_KAFKA_BENCHMARK_SHIM_H
#define CARE_PATH_KAFKA_BENCHMARK_SHIM_H

// The raw librdkafka C loops carepath's Swift consumer and producer are
// measured against, with no Swift in between. Benchmark-only: only
// KafkaBenchmarkSupport imports this, and only carepath-bench links it.

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

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
