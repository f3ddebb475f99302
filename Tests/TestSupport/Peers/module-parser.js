// Reads each file given with binary-version-reader's HalModuleParser (Particle's module
// parser, the one particle-cli uses) and prints one JSON object per line: the fields the
// Swift reader is compared against. Run with NODE_PATH naming the peers' node_modules.
'use strict';
const path = require('path');
const fs = require('fs');
// The parser alone: the package's main also loads its encoder, whose archiver dependency the
// peers do not carry, and its exports hide lib/.
const packageDir = (process.env.NODE_PATH || '').split(':')
	.map((folder) => path.join(folder, 'binary-version-reader'))
	.find((folder) => fs.existsSync(path.join(folder, 'lib', 'HalModuleParser.js')));
if (!packageDir) {
	console.error('binary-version-reader not found on NODE_PATH');
	process.exit(2);
}
const HalModuleParser = require(path.join(packageDir, 'lib', 'HalModuleParser.js'));

function productExtension(extensions) {
	const found = (extensions || []).find((item) => item.type === 1);
	return found ? { id: found.productId, version: found.productVersion } : null;
}

async function describe(file) {
	try {
		const info = await new HalModuleParser().parseFile(file);
		const prefix = info.prefixInfo;
		const suffix = info.suffixInfo;
		return {
			file: path.basename(file),
			prefixOffset: prefix.prefixOffset,
			start: parseInt(prefix.moduleStartAddy, 16),
			end: parseInt(prefix.moduleEndAddy, 16),
			flags: prefix.moduleFlags,
			version: prefix.moduleVersion,
			platformID: prefix.platformID,
			function: prefix.moduleFunction,
			index: prefix.moduleIndex,
			dependency: [prefix.depModuleFunction, prefix.depModuleIndex, prefix.depModuleVersion],
			dependency2: [prefix.dep2ModuleFunction, prefix.dep2ModuleIndex, prefix.dep2ModuleVersion],
			crcOK: info.crc.ok === true || info.crc.ok === 1,
			suffixSize: suffix.suffixSize,
			productID: suffix.productId,
			productVersion: suffix.productVersion,
			productExtension: productExtension(suffix.extensions) || productExtension(prefix.extensions),
			sha256: suffix.fwUniqueId,
		};
	} catch (error) {
		return { file: path.basename(file), error: String(error && error.message || error) };
	}
}

(async () => {
	for (const file of process.argv.slice(2)) {
		process.stdout.write(JSON.stringify(await describe(file)) + '\n');
	}
})();
