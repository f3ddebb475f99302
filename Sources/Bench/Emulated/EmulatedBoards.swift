import Boards

// What the command line asks of emulated boards, named at the layer it calls. The types live
// with the emulator; Bench passes them on so the CLI needs no module below it.

/// A firmware defect an emulated board can be seeded with.
public typealias Defect = Boards.Defect

/// Cut an emulated board's power at every flash operation of an OTA and sort the outcomes.
public typealias PowerCutSweep = Boards.PowerCutSweep

/// Emulated boards served as USB devices (umockdev), optionally behind a power-switching hub.
public typealias EmulatedUSBBoards = Boards.EmulatedUSBBoards

/// One emulated board on a pseudo-terminal.
public typealias EmulatedSerialBoard = Boards.EmulatedSerialBoard

/// The mode a served emulated board starts in.
public typealias ServedStart = Boards.ServedStart

/// A fleet of emulated boards connected to a local cloud.
public typealias EmulatedFleet = Boards.EmulatedFleet
