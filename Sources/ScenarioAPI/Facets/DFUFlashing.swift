/// Writing a module image at its own start address through the bootloader's DFU.
public protocol DFUFlashing: BoardFacet {
    /// Writes the image and leaves DFU; returns once the board has reset, whatever it runs then.
    func flash(_ image: FirmwareImage) async throws
    /// The same, cutting the power mid-write when the cut's trigger fires; the power is back on
    /// when it returns. Needs the board's power facet.
    func flash(_ image: FirmwareImage, cuttingPower cut: PowerCut) async throws
}
