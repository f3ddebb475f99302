// A long-running libusb client, as particle-cli is during `particle flash --local`: it opens a
// board with particle-usb, listens for node-usb's attach and detach events (libusb hotplug,
// fed by udev uevents), sends the board into DFU mode with particle-usb's own enterDfuMode()
// (which waits for the board to come back in DFU, by polling libusb's device list: a list that
// only hotplug updates), resets it out of DFU and waits for it to run again. Prints one JSON
// object: {dfu, back, events: [{action, vendorId, productId}]}. Usage: node usb-hotplug.js
// DEVICE_ID [SECONDS]; every wait ends within SECONDS (default 30).
'use strict';
const usb = require('particle-usb');
const { usb: nodeUsb } = require('usb');

const events = [];
function record(action) {
	return (device) => events.push({
		action,
		vendorId: device.deviceDescriptor.idVendor,
		productId: device.deviceDescriptor.idProduct,
	});
}

async function openWhen(id, predicate, deadline) {
	while (Date.now() < deadline) {
		try {
			const device = await usb.openDeviceById(id);
			if (predicate(device)) {
				return device;
			}
			await device.close();
		} catch (_error) {
			// Not there yet: the board is re-enumerating.
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	return null;
}

async function main() {
	const id = process.argv[2];
	const seconds = Number(process.argv[3] || 30);
	const deadline = Date.now() + seconds * 1000;
	nodeUsb.on('attach', record('attach'));
	nodeUsb.on('detach', record('detach'));
	const device = await usb.openDeviceById(id);
	const result = { dfu: false, back: false, events };
	await device.enterDfuMode({ timeout: seconds * 1000 });
	const inDfu = await openWhen(id, (d) => d.isInDfuMode, deadline);
	result.dfu = inDfu !== null;
	if (inDfu) {
		await inDfu.reset().catch(() => {});
		await inDfu.close().catch(() => {});
		const running = await openWhen(id, (d) => !d.isInDfuMode, deadline);
		result.back = running !== null;
		if (running) {
			await running.close();
		}
	}
	// The last detach or attach may still be on its way.
	await new Promise((resolve) => setTimeout(resolve, 500));
	nodeUsb.removeAllListeners('attach');
	nodeUsb.removeAllListeners('detach');
	console.log(JSON.stringify(result));
}

main().then(() => process.exit(0), (error) => {
	console.error(error && error.stack || String(error));
	process.exit(1);
});
