import Kafka
import Testing

@Suite("Duration as librdkafka milliseconds")
struct DurationMillisecondsTests {
    @Test("sub-second parts are kept: 500 ms is 500, 1.5 s is 1500, not 0 and 1000")
    func subSecond() {
        #expect(Duration.milliseconds(500).librdkafkaMilliseconds == 500)
        #expect(Duration.seconds(1.5).librdkafkaMilliseconds == 1500)
        #expect(Duration.milliseconds(100).librdkafkaMilliseconds == 100)
        #expect(Duration.seconds(30).librdkafkaMilliseconds == 30_000)
    }

    @Test("a partial millisecond rounds up, so a short wait never becomes a non-blocking 0")
    func roundsUp() {
        #expect(Duration.nanoseconds(1).librdkafkaMilliseconds == 1)
        #expect(Duration.microseconds(999).librdkafkaMilliseconds == 1)
        #expect(Duration.microseconds(1001).librdkafkaMilliseconds == 2)
        #expect((Duration.seconds(1) + .nanoseconds(1)).librdkafkaMilliseconds == 1001)
        #expect(Duration(secondsComponent: 0, attosecondsComponent: 1).librdkafkaMilliseconds == 1)
    }

    @Test("zero is 0")
    func zero() {
        #expect(Duration.zero.librdkafkaMilliseconds == 0)
    }

    @Test("a negative duration is 0")
    func negative() {
        #expect(Duration.nanoseconds(-1).librdkafkaMilliseconds == 0)
        #expect(Duration.milliseconds(-500).librdkafkaMilliseconds == 0)
        #expect(Duration.seconds(-1.5).librdkafkaMilliseconds == 0)
        #expect(Duration.seconds(Int64.min).librdkafkaMilliseconds == 0)
    }

    @Test("a huge duration is clamped to Int32.max, librdkafka's int")
    func huge() {
        #expect(Duration.milliseconds(Int32.max).librdkafkaMilliseconds == Int32.max)
        #expect((Duration.milliseconds(Int32.max) - .nanoseconds(1)).librdkafkaMilliseconds == Int32.max)
        #expect((Duration.milliseconds(Int32.max) - .milliseconds(1)).librdkafkaMilliseconds == Int32.max - 1)
        #expect(Duration.seconds(86_400 * 365).librdkafkaMilliseconds == Int32.max)
        #expect(Duration.seconds(Int64.max).librdkafkaMilliseconds == Int32.max)
        // Beyond Int64.max seconds, where Duration.components would trap.
        #expect((Duration.seconds(Int64.max) * 4).librdkafkaMilliseconds == Int32.max)
    }
}
