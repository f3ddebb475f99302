import Cloud

/// Particle cloud API credentials, as the cloud facet and the fleet use them.
public typealias CloudCredentials = Cloud.CloudCredentials
