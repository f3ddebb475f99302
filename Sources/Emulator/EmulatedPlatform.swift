import Firmware

/// The platforms the emulator models: every platform of the catalog.
public enum EmulatedPlatforms {
    public static var all: [Platform] { Platform.catalog }
}
