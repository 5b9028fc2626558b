// Debian's librdkafka-dev (2.0.2): the client API and the mock cluster.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
