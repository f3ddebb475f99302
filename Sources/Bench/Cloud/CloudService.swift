import Boards

// The cloud the command line serves and talks to, named at the layer it calls.

/// The local device cloud served to other processes.
public typealias LocalCloudService = Boards.LocalCloudService

/// Particle cloud API credentials (PARTICLE_API_BASE_URL, PARTICLE_ACCESS_TOKEN).
public typealias CloudCredentials = Boards.CloudCredentials
