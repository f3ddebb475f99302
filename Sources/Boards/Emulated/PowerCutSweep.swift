import Emulator

/// The emulator's power-cut sweep: every flash operation of an OTA, cut, booted and sorted.
public typealias PowerCutSweep = Emulator.PowerCutSweep
