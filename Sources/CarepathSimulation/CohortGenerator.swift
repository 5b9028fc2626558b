/// Placeholder.
public enum CarepathSimulationPlaceholder {}
