import Firmware
import Foundation

/// The parts a scenario plays firmware in.
public enum FirmwareRole: String, Hashable, Sendable, CaseIterable, Codable {
    case knownGoodApp = "known-good-app"
    case nextApp = "next-app"
    case otherPlatformApp = "other-platform-app"
    case newerDeviceOSApp = "newer-device-os-app"
    case corruptApp = "corrupt-app"
    case nextSystemPart = "next-system-part"
}

/// Images by role for a platform. For emulated boards otabench builds them; a firmware
/// folder for real boards comes with the qualification issue.
public struct FirmwareLibrary: Sendable {
    public let platform: Platform
    private let images: [FirmwareRole: FirmwareImage]

    public init(platform: Platform, images: [FirmwareRole: FirmwareImage]) {
        self.platform = platform
        self.images = images
    }

    public func image(_ role: FirmwareRole) -> FirmwareImage {
        images[role]!
    }

    /// Images from a folder, one file per role named `<role>.bin` (`known-good-app.bin`,
    /// `next-app.bin`, …): what a lab keeps for its real boards, or a developer for their own
    /// builds. Roles the folder lacks come from `fallback`. Every image must be a valid module
    /// and, but for `other-platform-app`, built for `platform`.
    public static func load(from folder: String, platform: Platform, fallback: FirmwareLibrary?) throws(FirmwareFolderError) -> FirmwareLibrary {
        var images: [FirmwareRole: FirmwareImage] = [:]
        for role in FirmwareRole.allCases {
            let path = (folder as NSString).appendingPathComponent(role.rawValue + ".bin")
            guard FileManager.default.fileExists(atPath: path) else {
                guard let fallback else { throw FirmwareFolderError(path: path, reason: "missing, and there is nothing to fall back on") }
                images[role] = fallback.image(role)
                continue
            }
            let file: ModuleFile
            do { file = try ModuleFile(contentsOf: path) } catch { throw FirmwareFolderError(path: path, reason: error.description) }
            guard let module = file.modules.first else { throw FirmwareFolderError(path: path, reason: "no module") }
            // The corrupt app is corrupt on purpose; every other role must be sound.
            if role != .corruptApp, !file.isValid {
                throw FirmwareFolderError(path: path, reason: file.allFindings.filter(\.isError).map(\.message).joined(separator: "; "))
            }
            if role == .otherPlatformApp ? module.platformID == platform.id : module.platformID != platform.id {
                throw FirmwareFolderError(path: path, reason: role == .otherPlatformApp
                    ? "is built for \(platform.buildName), the board's own platform"
                    : "is built for \(module.platformID), not \(platform.buildName)")
            }
            images[role] = FirmwareImage(bytes: file.bytes, label: "\(role.rawValue) from \(path)", role: role)
        }
        return FirmwareLibrary(platform: platform, images: images)
    }

    /// The same library with `images` in their roles instead.
    public func replacing(_ images: [FirmwareRole: FirmwareImage]) -> FirmwareLibrary {
        FirmwareLibrary(platform: platform, images: self.images.merging(images) { $1 })
    }

    /// Every image the library holds, by role.
    public var all: [FirmwareRole: FirmwareImage] { images }
}

/// A firmware folder that cannot serve: which file, and why.
public struct FirmwareFolderError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}
