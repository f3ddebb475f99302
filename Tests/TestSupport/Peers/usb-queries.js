// Asks one board, through particle-usb (Particle's USB library, on node-usb and the system
// libusb), what particle-cli's `usb` and `serial` commands ask, and prints one JSON object:
// each answer as {ok: value} or, when the board refuses, {error, result} with Device OS's
// result code. Usage: node usb-queries.js DEVICE_ID. Run with NODE_PATH naming the peers'
// node_modules, under umockdev's preload with the emulator's UMOCKDEV_DIR.
'use strict';
const usb = require('particle-usb');
// The request table: for the requests a platform's class has no method for (ICCID on Wi-Fi).
const { Request } = require('particle-usb/src/request');

async function attempt(call) {
	try {
		const value = await call();
		return { ok: value === undefined ? null : value };
	} catch (error) {
		return { error: error.name || error.constructor.name, message: error.message, result: error.result === undefined ? null : error.result };
	}
}

async function main() {
	const id = process.argv[2];
	const device = await usb.openDeviceById(id);
	const answers = {
		type: device.type,
		isInDfuMode: device.isInDfuMode,
		mode: await attempt(() => device.getDeviceMode()),
		assetInfo: await attempt(() => device.getAssetInfo()),
		protection: await attempt(() => device.getProtectionState()),
		cloud: await attempt(() => device.getCloudConnectionStatus()),
		interfaces: await attempt(() => device.getNetworkInterfaceList()),
		iccid: await attempt(async () => typeof device.getIccid === 'function'
			? device.getIccid()
			: (await device.sendRequest(Request.CELLULAR_GET_ICCID)).iccid),
	};
	await device.close();
	console.log(JSON.stringify(answers));
}

main().then(() => process.exit(0), (error) => {
	console.error(error && error.stack || String(error));
	process.exit(1);
});
