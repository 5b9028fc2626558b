extension Duration {
    /// This duration as the `int` milliseconds librdkafka takes for timeouts
    /// and round-trip times: the one conversion the Kafka layer uses.
    ///
    /// A partial millisecond rounds up, so a wait of 500 µs is 1 ms rather than
    /// a non-blocking 0; a negative duration is 0; anything from `Int32.max`
    /// milliseconds (about 24.8 days) on is `Int32.max`.
    package var librdkafkaMilliseconds: Int32 {
        guard self > .zero else { return 0 }
        // Checked first: a duration past Int64.max seconds has no `components`.
        guard self < .milliseconds(Int32.max) else { return .max }
        let (seconds, attoseconds) = components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let partial = (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
        return Int32(seconds * 1000 + partial)
    }
}
