public import Kafka
public import Logging
public import Pathway

extension EmbeddedKafkaCluster {
    /// Starts an embedded cluster with every topic of PATHWAY.md section 1.
    /// - Parameters:
    ///   - brokers: how many brokers.
    ///   - partitions: partitions of each topic.
    ///   - topics: the topic names.
    /// - Throws: ``KafkaError`` when the cluster or a topic cannot be created.
    public static func startForCarepath(brokers: Int = 1, partitions: Int, topics: TopicNames = .standard,
                                        logger: Logger) throws(KafkaError) -> EmbeddedKafkaCluster {
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
        for topic in [topics.input, topics.recommendations, topics.tasks, topics.domainEvents, topics.deadLetters] {
            try cluster.createTopic(topic, partitions: partitions)
        }
        return cluster
    }
}
