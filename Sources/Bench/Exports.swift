// Bench's own API is made of the scenario API's types (scenarios, boards' facets, images by
// role, verdict inputs): whoever uses Bench uses them.
@_exported import ScenarioAPI
