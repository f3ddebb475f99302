/// Request type ids: the wIndex of INIT (reference §6.2; `CTRL_REQUEST_*` in Device OS,
/// the `type_id` option of each protobuf request).
public enum ControlRequestType: UInt16, Hashable, Sendable, CaseIterable {
    case echo = 1
    case deviceID = 20
    case serialNumber = 21
    case systemVersion = 30
    case reset = 40
    case factoryReset = 41
    case dfuMode = 50
    case safeMode = 60
    case startListening = 70
    case stopListening = 71
    case getDeviceMode = 72
    /// CTRL_REQUEST_GET_PROTECTED_STATE: Device OS 6.1.0 and later.
    case getProtectedState = 76
    case moduleInfo = 90
    /// CTRL_REQUEST_GET_ASSET_INFO: Device OS 5.6.0 and later, where HAL_PLATFORM_ASSETS.
    case getAssetInfo = 91
    case startFirmwareUpdate = 250
    case finishFirmwareUpdate = 251
    case cancelFirmwareUpdate = 252
    case firmwareUpdateData = 253
    /// CTRL_REQUEST_CLOUD_GET_CONNECTION_STATUS.
    case cloudConnectionStatus = 300
    /// CTRL_REQUEST_NETWORK_GET_INTERFACE_LIST: where HAL_USE_SOCKET_HAL_POSIX && HAL_PLATFORM_IFAPI.
    case networkInterfaceList = 400
    /// CTRL_REQUEST_CELLULAR_GET_ICCID: where HAL_PLATFORM_NCP && HAL_PLATFORM_CELLULAR.
    case cellularIccid = 554
}

/// Raw vendor requests with bRequest 0x50 ('P'), wIndex the type (§6.1): they bypass the
/// INIT/CHECK handshake.
public enum RawVendorRequest {
    public static let request: UInt8 = 0x50
    /// IN: the 24-character device id.
    public static let deviceID: UInt16 = 20
    /// IN: the Device OS version string.
    public static let systemVersion: UInt16 = 30
    /// OUT: reset at once, even when busy ("forced" reset).
    public static let reset: UInt16 = 40
    /// OUT: drop the cloud connection.
    public static let cloudDisconnect: UInt16 = 302
}

/// Transport limits (§6.1).
public enum ControlTransport {
    /// INIT, CHECK and RESET need a data stage at least this long.
    public static let serviceReplyLength: UInt16 = 64
    /// SEND and RECV chunks.
    public static let maximumChunk = 4096
    /// The device's limit on a request or reply payload.
    public static let maximumPayload = 65535
    /// Requests the device serves at once.
    public static let maximumActiveRequests = 4
    /// Payloads up to this size use a pooled buffer, so INIT answers OK at once.
    public static let pooledBufferSize = 64
    /// The host's CHECK back-off, then 1000 ms repeated (particle-usb).
    public static let checkBackoff: [Duration] = [50, 50, 100, 100, 250, 250, 500, 500].map { .milliseconds($0) }
    public static let defaultTimeout = Duration.seconds(60)
    public static let vendorIn: UInt8 = 0xC0
    public static let vendorOut: UInt8 = 0x40
}
