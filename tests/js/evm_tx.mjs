// Reference EIP-1559 transactions from ethers: argv[2] is a JSON array of
// {key, chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data}
// (integers as decimal strings). Prints "<unsignedHash> <raw> <hash>" per transaction,
// each signed by a Wallet holding key.
import { Transaction, Wallet, keccak256 } from 'ethers';

for (const { key, ...fields } of JSON.parse(process.argv[2])) {
  const tx = { type: 2, ...fields, nonce: Number(fields.nonce), accessList: [] };
  const raw = await new Wallet(key).signTransaction(tx);
  const parsed = Transaction.from(raw);
  if (parsed.from !== new Wallet(key).address) throw new Error('sender does not recover');
  console.log(Transaction.from(tx).unsignedHash, raw, keccak256(raw));
}
