/// A Particle board on USB as `otabench boards` lists it.
public struct USBBoardListing: Hashable, Sendable {
    public var deviceID: String?
    /// Build name, or nil for a product id no platform of the catalog has.
    public var platform: String?
    /// normal or dfu.
    public var mode: String
    public var vendorID: UInt16
    public var productID: UInt16
    public var bus: UInt8
    public var address: UInt8
    /// From a board running Device OS; nil when it is in DFU mode or does not answer.
    public var deviceOS: String?
    /// Its application ("user 1 v6, 3f2a…"), "none", or nil when it cannot tell.
    public var app: String?
}
