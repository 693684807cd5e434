// ABI reference encodings from ethers.
//   calls '<json [[signature, [values...]], ...]>'  one Interface.encodeFunctionData per line
//   encode '<json [types...]>' '<json [values...]>' AbiCoder.encode (return data)
// Integers are decimal strings, bytes and addresses 0x-hex, tuples arrays.
import { AbiCoder, Interface } from 'ethers';

const [mode, a, b] = process.argv.slice(2);
if (mode === 'calls') {
  for (const [signature, values] of JSON.parse(a)) {
    const iface = new Interface([`function ${signature}`]);
    console.log(iface.encodeFunctionData(iface.fragments[0], values));
  }
} else if (mode === 'encode') {
  console.log(AbiCoder.defaultAbiCoder().encode(JSON.parse(a), JSON.parse(b)));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
