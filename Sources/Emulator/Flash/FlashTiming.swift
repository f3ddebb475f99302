import Firmware

/// How long a flash part takes to erase and program, for the virtual clock. Figures from
/// reference §10, each with its confidence there:
///
/// - nRF52840 internal flash: 85 ms per 4 KB page erase, 41 µs per 32-bit word (maxima
///   from the Product Specification; grade A).
/// - STM32F205 internal flash at x32: 250 ms per 16 KB sector, 550 ms per 64 KB, 1 s per
///   128 KB, 16 µs per word (typical values; grade B).
/// - QSPI and RTL872x NOR: 45 ms per 4 KB sector (MX25L3233F typical; grade B; the
///   MX25R6435F's 50 ms is within noise) and 5 ms per 256-byte page program (the
///   MX25L3233F maximum: no typical figure is published, so the model is pessimistic).
///   Realtek publishes nothing for the RTL8721D's flash; it is modelled as this NOR part.
/// - DCT writes (module slot records, flags) cost one internal word program per 4 bytes.
public struct FlashTiming: Hashable, Sendable {
    public var programPerWord: Duration
    public var programPageSize: Int?
    public var programPerPage: Duration?
    /// Erase time for a sector of a given size.
    public var eraseFor: [Int: Duration]
    public var erasePerKilobyte: Duration

    public func erase(sectorSize: Int) -> Duration {
        eraseFor[sectorSize] ?? erasePerKilobyte * (sectorSize / 1024)
    }

    public func program(bytes: Int) -> Duration {
        if let pageSize = programPageSize, let perPage = programPerPage {
            return perPage * ((bytes + pageSize - 1) / pageSize)
        }
        return programPerWord * ((bytes + 3) / 4)
    }

    public static let nrf52840Internal = FlashTiming(
        programPerWord: .microseconds(41), eraseFor: [4096: .milliseconds(85)], erasePerKilobyte: .microseconds(21_250))
    public static let stm32f205Internal = FlashTiming(
        programPerWord: .microseconds(16),
        eraseFor: [16 << 10: .milliseconds(250), 64 << 10: .milliseconds(550), 128 << 10: .seconds(1)],
        erasePerKilobyte: .microseconds(15_625))
    public static let norFlash = FlashTiming(
        programPerWord: .microseconds(80), programPageSize: 256, programPerPage: .milliseconds(5),
        eraseFor: [4096: .milliseconds(45)], erasePerKilobyte: .microseconds(11_250))

    public static func `internal`(for platform: Platform) -> FlashTiming {
        switch platform.mcu {
        case .nrf52840: .nrf52840Internal
        case .stm32f2xx: .stm32f205Internal
        case .rtl872x: .norFlash
        }
    }
}
