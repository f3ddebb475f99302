// A scenario sees the firmware vocabulary (platforms, module functions, compatibility) and the
// device's system errors and link failures its typed errors carry, and nothing else below.
@_exported import Firmware
@_exported import enum Links.SystemError
@_exported import enum Links.LinkError
