#ifndef CARE_PATH_KAFKA_SHIM_H
#define CARE_PATH_KAFKA_SHIM_H

// The one helper Swift cannot express over librdkafka: the variadic
// rd_kafka_producev. Only the Kafka module imports this. (The raw C loops
// the benchmarks compare against are in CKafkaBenchmarkShim, outside the
// production binaries.)

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

#endif
