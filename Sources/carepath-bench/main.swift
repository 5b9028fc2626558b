// Temporary entry point in the kafka branch; merged with the evaluate benchmark later.
let args = CommandLine.arguments
if args.count > 1, args[1] == "kafka" {
    try await KafkaBenchmark.run(messages: 500_000, partitions: 32, rounds: 3)
}
