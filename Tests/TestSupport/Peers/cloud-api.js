// Drives the local cloud (`otabench cloud serve`) with Particle's own REST client,
// particle-api-js, unchanged: login, account, devices, product firmware, locks, releases,
// event streams and publishing, each the way the library calls them. Prints "ok <step>" per
// step and exits 1 at the first failure ("FAIL <step>: <detail>").
//
//   node --experimental-require-module cloud-api.js PRODUCT DEVICE_ID MODULE.bin
//
// Environment: PARTICLE_API_BASE_URL and PARTICLE_ACCESS_TOKEN (as `cloud serve` prints them),
// OTABENCH_PEERS_DIR (the unpacked peers, set by ParticlePeers.run), NODE_PATH with Debian's
// node-fetch, form-data and qs.
'use strict';
const http = require('http');
// The peers' README: Node 20's keep-alive agent makes node-fetch 3 reset connections after an
// error body, against any server.
http.globalAgent = new http.Agent({ keepAlive: false });
const fs = require('fs');
const path = require('path');

const [product, deviceId, modulePath] = process.argv.slice(2);
const Particle = require(path.join(process.env.OTABENCH_PEERS_DIR, 'particle-api-js', 'src', 'Particle'));
const auth = process.env.PARTICLE_ACCESS_TOKEN;
// No default auth: each call says how it authenticates, as a script holding a token would.
const api = new Particle({ baseUrl: process.env.PARTICLE_API_BASE_URL });
const firmware = fs.readFileSync(modulePath);

function check(condition, what, detail) {
	if (!condition) {
		console.log(`FAIL ${what}: ${JSON.stringify(detail)}`);
		process.exit(1);
	}
	console.log(`ok ${what}`);
}

async function refused(promise) {
	try {
		await promise;
		return null;
	} catch (error) {
		return error;
	}
}

// api-js attaches listeners once getEventStream resolves; the caller subscribes, then triggers.
function nextEvent(stream, matches, ms = 60000) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('no matching event within the time limit')), ms);
		stream.on('event', (event) => {
			if (matches(event)) {
				clearTimeout(timer);
				resolve(event);
			}
		});
	});
}

(async () => {
	// The account.
	const login = await api.login({ username: 'bench@otabench.local', password: auth });
	check(login.body.access_token === auth && login.body.token_type === 'bearer', 'login (POST /oauth/token, a form)', login.body);
	const user = await api.getUserInfo({ auth });
	check(typeof user.body.username === 'string', 'GET /v1/user', user.body);

	// Refusals are JSON with error_description, unknown routes and bad tokens too.
	let error = await refused(api.getDevice({ deviceId: 'ffffffffffffffffffffffff', auth }));
	check(error && error.statusCode === 404 && typeof error.shortErrorDescription === 'string', 'an unknown device is a JSON 404', error && error.body);
	error = await refused(api.get({ uri: '/v1/no/such/route', auth }));
	check(error && error.statusCode === 404 && error.body && error.body.error_description, 'an unknown route is a JSON 404', error && error.body);
	error = await refused(api.getUserInfo({ auth: 'wrong' }));
	check(error && error.statusCode === 401 && error.body.error === 'invalid_token', 'a wrong token is 401 invalid_token', error && error.body);

	// Devices.
	const added = await api.addDeviceToProduct({ deviceId, product, auth });
	check(Array.isArray(added.body.updatedDeviceIds), 'addDeviceToProduct ({"id": …})', added.body);
	const upper = await api.getDevice({ deviceId: deviceId.toUpperCase(), auth });
	check(upper.body.id === deviceId && Array.isArray(upper.body.functions) && 'connected' in upper.body, 'GET /v1/devices/:id in upper case', upper.body);
	const mine = await api.listDevices({ auth });
	check(Array.isArray(mine.body) && mine.body.some((device) => device.id === deviceId), 'GET /v1/devices', mine.body);
	const fleet = await api.listDevices({ product, auth, perPage: 25 });
	check(Array.isArray(fleet.body.devices) && fleet.body.meta && fleet.body.meta.total_pages === 1, 'GET /v1/products/:p/devices', fleet.body);
	const claimed = await api.claimDevice({ deviceId, auth });
	check(claimed.body.ok === true, 'claimDevice (POST /v1/devices)', claimed.body);
	const renamed = await api.renameDevice({ deviceId, name: 'bench_one', auth });
	check(renamed.body.name === 'bench_one', 'renameDevice (JSON PUT /v1/devices/:id)', renamed.body);

	// A product by its numeric id.
	const products = await api.listProducts({ auth });
	const numeric = products.body.products.find((each) => each.slug === product);
	check(numeric && Number.isInteger(numeric.id), 'listProducts', products.body);
	const byNumber = await api.getDevice({ deviceId, product: numeric.id, auth });
	check(byNumber.body.id === deviceId && byNumber.body.product_id === numeric.id, 'a product device by the numeric product id', byNumber.body);

	// Product firmware (form-data throws on an undefined field: the description is given).
	const uploaded = await api.uploadProductFirmware({ product, version: 2, title: 'v2', description: 'from particle-api-js', file: firmware, auth });
	check(uploaded.statusCode === 201 && uploaded.body.version === 2 && uploaded.body.size === firmware.length, 'uploadProductFirmware (the part "file")', uploaded.body);
	const list = await api.listProductFirmware({ product, auth });
	check(Array.isArray(list.body) && list.body.some((each) => each.version === 2 && each.title === 'v2'), 'listProductFirmware', list.body);
	const one = await api.getProductFirmware({ product, version: 2, auth });
	check(one.body.description === 'from particle-api-js' && typeof one.body.uploaded_on === 'string', 'getProductFirmware', one.body);
	const edited = await api.updateProductFirmware({ product, version: 2, title: 'v2b', description: 'edited', auth });
	check(edited.body.title === 'v2b' && edited.body.description === 'edited', 'updateProductFirmware', edited.body);
	const binary = await api.downloadProductFirmware({ product, version: 2, auth });
	check(Buffer.isBuffer(binary) && binary.equals(firmware), 'downloadProductFirmware', binary.length);

	// A product stream with a slashed name (sent as %2F), then a multipart flash of a product device.
	const stream = await api.getEventStream({ product, name: 'spark/flash/status', auth });
	const started = nextEvent(stream, (event) => event.coreid === deviceId);
	const flashed = await api.flashDevice({ deviceId, product, files: { 'app.bin': firmware }, auth });
	check(flashed.body.status === 'Update started', 'flashDevice (multipart PUT /v1/products/:p/devices/:id)', flashed.body);
	const event = await started;
	check(event.name === 'spark/flash/status' && event.data === 'started ' && event.ttl === 60 && typeof event.published_at === 'string',
		'the flash event, named from the event line, with ttl', event);
	stream.abort();

	// Locks, development, and a release of a version alone.
	const locked = await api.lockDeviceProductFirmware({ deviceId, product, desiredFirmwareVersion: 2, flash: false, auth });
	check(locked.body.desired_firmware_version === 2, 'lockDeviceProductFirmware', locked.body);
	const state = await api.getDevice({ deviceId, product, auth });
	check(state.body.desired_firmware_version === 2, 'the lock is on the device', state.body);
	const unlocked = await api.unlockDeviceProductFirmware({ deviceId, product, auth });
	check(unlocked.body.desired_firmware_version === null, 'unlockDeviceProductFirmware (null)', unlocked.body);
	const development = await api.markAsDevelopmentDevice({ deviceId, product, development: true, auth });
	check(development.body.development === true, 'markAsDevelopmentDevice', development.body);
	const released = await api.releaseProductFirmware({ product, version: 2, auth });
	check(released.body.version === 2 && released.body.product_default === true, 'releaseProductFirmware ({version}: the default)', released.body);

	// Publishing reaches the account's streams ("mine", with a prefix sent as %2F).
	const all = await api.getEventStream({ deviceId: 'mine', name: 'bench/', auth });
	const arrives = nextEvent(all, (each) => each.name === 'bench/hello');
	const published = await api.publishEvent({ name: 'bench/hello', data: 'hi', isPrivate: true, auth });
	check(published.body.ok === true, 'publishEvent (POST /v1/devices/events)', published.body);
	const got = await arrives;
	check(got.data === 'hi' && got.ttl === 60, 'the published event on /v1/devices/events/bench%2F', got);
	all.abort();

	const removed = await api.removeDevice({ deviceId, product, auth });
	check(removed.statusCode === 204, 'removeDevice', removed);
	process.exit(0);
})().catch((error) => {
	console.log(`FAIL ${error.message} ${JSON.stringify(error.body || error.errorDescription || '')}`);
	process.exit(1);
});
