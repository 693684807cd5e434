// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {CustosBatchFixture} from "./utils/CustosBatchFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation, Batch} from "../src/CustosTypes.sol";

/// submitBatchPart (docs/adapter.md §14): some accounts of a signed batch, proven by an
/// OpenZeppelin multiproof of the batch's StandardMerkleTree, each checked and written as
/// by submitBatch; the batch's sequence neither checked nor recorded.
contract CustosBatchPartTest is CustosBatchFixture {
    event BatchPartAccepted(
        bytes32 indexed feedId, uint64 indexed sequence, bytes32 accountsRoot, uint32 accounts, uint32 refused, bytes32 digest
    );

    struct Part {
        Attestation[] atts;
        bytes32[] proof;
        bool[] flags;
    }

    /// The multiproof of the leaves at `picks` (positions in leaf order, increasing) of the
    /// batch `sorted` (in leaf order, as _batch leaves it), built as the merkle-tree
    /// package's getMultiProof builds it: the picked nodes' tree indices, largest first, as
    /// a queue; each node taken with its sibling when that is next in the queue (flag set),
    /// else with the sibling's hash from the tree (a proof hash); its parent queued.
    function _part(Attestation[] memory sorted, uint256[] memory picks) internal pure returns (Part memory p) {
        uint256 n = sorted.length;
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; i++) {
            tree[2 * n - 2 - i] = _leafOf(sorted[i]);
        }
        for (uint256 k = n - 1; k > 0; k--) {
            bytes32 a = tree[2 * k - 1];
            bytes32 b = tree[2 * k];
            tree[k - 1] = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
        }
        uint256[] memory queue = new uint256[](2 * n);
        uint256 head;
        uint256 tail;
        p.atts = new Attestation[](picks.length);
        for (uint256 i; i < picks.length; i++) {
            p.atts[i] = sorted[picks[i]];
            queue[tail++] = 2 * n - 2 - picks[i];
        }
        p.proof = new bytes32[](2 * n);
        p.flags = new bool[](2 * n);
        uint256 proofs;
        uint256 steps;
        while (head < tail && queue[head] > 0) {
            uint256 j = queue[head++];
            uint256 sibling = j % 2 == 1 ? j + 1 : j - 1;
            if (head < tail && queue[head] == sibling) {
                p.flags[steps++] = true;
                head++;
            } else {
                p.flags[steps++] = false;
                p.proof[proofs++] = tree[sibling];
            }
            queue[tail++] = (j - 1) / 2;
        }
        bytes32[] memory proof = p.proof;
        bool[] memory flags = p.flags;
        assembly ("memory-safe") {
            mstore(proof, proofs)
            mstore(flags, steps)
        }
    }

    function _picks(uint256 a) internal pure returns (uint256[] memory p) {
        p = new uint256[](1);
        p[0] = a;
    }

    function _picks(uint256 a, uint256 b) internal pure returns (uint256[] memory p) {
        p = new uint256[](2);
        (p[0], p[1]) = (a, b);
    }

    function _submitPart(Batch memory b, Part memory p) internal {
        _submitPart(b, p, _signBatch(b));
    }

    /// For a part that must revert: the signatures made before vm.expectRevert.
    function _submitPart(Batch memory b, Part memory p, bytes memory sigs) internal {
        adapter.submitBatchPart(FEED_A, b, p.atts, p.proof, p.flags, sigs);
    }

    /// The revert data of a part that must fail (to compare an error whose fields the
    /// test cannot know in advance by its selector).
    function _partFails(Batch memory b, Part memory p) internal returns (bytes memory ret) {
        bool ok;
        (ok, ret) = address(adapter).call(
            abi.encodeCall(CustosAdapter.submitBatchPart, (FEED_A, b, p.atts, p.proof, p.flags, _signBatch(b)))
        );
        assertTrue(!ok, "the part must revert");
    }

    function _expectPartAccepted(Batch memory b, uint32 accounts, uint32 refused) internal {
        vm.expectEmit(true, true, true, true, address(adapter));
        emit BatchPartAccepted(FEED_A, b.sequence, b.accountsRoot, accounts, refused, adapter.batchDigest(b));
    }

    // ------------------------------------------------------------------ accepted

    function test_PartOfOneAccount() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        Part memory p = _part(atts, _picks(2));
        assertEq(p.atts.length, 1, "one account");
        _expectPartAccepted(b, 1, 0);
        _submitPart(b, p);
        bytes32 written = atts[2].account;
        assertEq(adapter.latest(written).sequence, 1, "the account is written");
        assertEq(adapter.latest(written).asOf, b.asOf, "at the batch's time");
        for (uint256 i; i < 4; i++) {
            if (i == 2) continue;
            vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, atts[i].account));
            adapter.latest(atts[i].account);
        }
        assertEq(adapter.batchSequence(FEED_A), 0, "a part records no batch sequence");
        assertEq(adapter.pledgedCollateral(FEED_A), atts[2].collateralValue, "the pledged total follows");
    }

    function test_PartsOfSeveralAccounts() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        // Leaves 0 and 3, then 1 and 2: neither part's leaves are neighbours in the tree.
        Part memory p = _part(atts, _picks(0, 3));
        _expectPartAccepted(b, 2, 0);
        _submitPart(b, p);
        assertEq(adapter.latest(atts[0].account).sequence, 1, "leaf 0 written");
        assertEq(adapter.latest(atts[3].account).sequence, 1, "leaf 3 written");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, atts[1].account));
        adapter.latest(atts[1].account);
        p = _part(atts, _picks(1, 2));
        _expectPartAccepted(b, 2, 0);
        _submitPart(b, p);
        for (uint256 i = 1; i <= 4; i++) {
            assertEq(adapter.collateralValue(_account(i)), V * i, "every account written");
        }
        assertEq(adapter.pledgedCollateral(FEED_A), 10 * V, "V + 2V + 3V + 4V");
    }

    function test_WholeBatchAsPart() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        uint256[] memory all = new uint256[](4);
        for (uint256 i; i < 4; i++) {
            all[i] = i;
        }
        Part memory p = _part(atts, all);
        assertEq(p.proof.length, 0, "every leaf: no proof hash");
        _expectPartAccepted(b, 4, 0);
        _submitPart(b, p);
        for (uint256 i = 1; i <= 4; i++) {
            assertEq(adapter.collateralValue(_account(i)), V * i, "every account written");
        }
        assertEq(adapter.batchSequence(FEED_A), 0, "a part records no batch sequence");
        // The whole batch afterwards: its sequence is new, its accounts replays.
        vm.expectEmit(true, true, true, true, address(adapter));
        emit BatchAccepted(FEED_A, 1, b.accountsRoot, 4, 4, adapter.batchDigest(b));
        _submitBatch(b, atts);
    }

    function test_BatchOfOneAsPart() public {
        Attestation[] memory atts = _atts(1, 1);
        Batch memory b = _batch(atts, 3);
        Part memory p = _part(atts, _picks(0));
        assertEq(p.flags.length, 0, "the root is the leaf: no step");
        _submitPart(b, p);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "written");
    }

    /// Every non-empty subset of batches of 1 to 6 accounts: the multiproof verifies with
    /// OpenZeppelin's MerkleProof.multiProofVerify and the adapter takes it (the accounts
    /// a previous subset wrote refused as replays, never the part); with a proof hash
    /// changed, the adapter reverts.
    function test_EverySubsetOfSmallBatches() public {
        for (uint256 i = 5; i <= 6; i++) {
            vm.prank(OWNER);
            adapter.registerAccount(_account(i), FEED_A);
        }
        for (uint256 n = 1; n <= 6; n++) {
            Attestation[] memory atts = _atts(n, uint64(n));
            Batch memory b = _batch(atts, uint64(n));
            bytes memory sigs = _signBatch(b);
            for (uint256 mask = 1; mask < (1 << n); mask++) {
                Part memory p = _part(atts, _maskPicks(mask, n));
                bytes32[] memory leaves = new bytes32[](p.atts.length);
                for (uint256 k; k < leaves.length; k++) {
                    leaves[k] = _leafOf(p.atts[k]);
                }
                assertTrue(MerkleProof.multiProofVerify(p.proof, p.flags, b.accountsRoot, leaves), "OpenZeppelin");
                _submitPart(b, p, sigs);
                if (p.proof.length != 0) {
                    p.proof[0] = bytes32(uint256(p.proof[0]) ^ 1);
                    (bool ok,) = address(adapter).call(
                        abi.encodeCall(CustosAdapter.submitBatchPart, (FEED_A, b, p.atts, p.proof, p.flags, sigs))
                    );
                    assertTrue(!ok, "a changed proof hash");
                }
            }
            for (uint256 i = 1; i <= n; i++) {
                assertEq(adapter.latest(_account(i)).sequence, n, "every account written");
            }
        }
    }

    function _maskPicks(uint256 mask, uint256 n) internal pure returns (uint256[] memory picks) {
        uint256 count;
        for (uint256 i; i < n; i++) {
            if (mask & (1 << i) != 0) count++;
        }
        picks = new uint256[](count);
        count = 0;
        for (uint256 i; i < n; i++) {
            if (mask & (1 << i) != 0) picks[count++] = i;
        }
    }

    // ------------------------------------------------------------------ the part refused whole

    function test_RevertProofOfOtherLeaves() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        Part memory p = _part(atts, _picks(1));
        p.atts[0] = atts[2]; // another account of the batch than the one proven
        bytes memory ret = _partFails(b, p);
        assertEq(bytes4(ret), CustosAdapter.WrongRoot.selector, "WrongRoot");
        (bytes32 signed,) = abi.decode(_args(ret), (bytes32, bytes32));
        assertEq(signed, b.accountsRoot, "names the signed root");
        // An attestation that is no leaf of the batch.
        p = _part(atts, _picks(1));
        p.atts[0].collateralValue += 1;
        assertEq(bytes4(_partFails(b, p)), CustosAdapter.WrongRoot.selector, "not what was signed");
        // The proof of a batch of another sequence.
        Attestation[] memory other = _atts(4, 2);
        p = _part(other, _picks(1));
        _batch(other, 2);
        p = _part(other, _picks(1));
        assertEq(bytes4(_partFails(b, p)), CustosAdapter.WrongRoot.selector, "another batch's proof");
        assertEq(adapter.batchSequence(FEED_A), 0, "nothing written");
    }

    function _args(bytes memory ret) internal pure returns (bytes memory args) {
        args = new bytes(ret.length - 4);
        for (uint256 i; i < args.length; i++) {
            args[i] = ret[i + 4];
        }
    }

    function test_RevertLeavesNotSorted() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        Part memory p = _part(atts, _picks(0, 2));
        (p.atts[0], p.atts[1]) = (p.atts[1], p.atts[0]);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.LeavesNotSorted.selector, uint256(1)));
        _submitPart(b, p, sigs);
        // The same leaf twice.
        p = _part(atts, _picks(0, 2));
        p.atts[1] = p.atts[0];
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.LeavesNotSorted.selector, uint256(1)));
        _submitPart(b, p, sigs);
    }

    function test_RevertCountMismatch() public {
        Attestation[] memory atts = _atts(3, 1);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        Part memory p = _part(atts, _picks(0));
        p.atts = new Attestation[](0);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchCountMismatch.selector, uint32(3), uint256(0)));
        _submitPart(b, p, sigs);
        // More accounts than the batch has.
        Attestation[] memory four = _atts(4, 1);
        _batch(four, 1);
        p = _part(four, _picks(0));
        p.atts = four;
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchCountMismatch.selector, uint32(3), uint256(4)));
        _submitPart(b, p, sigs);
    }

    function test_RevertMalformedProof() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        // A proof hash too many.
        Part memory p = _part(atts, _picks(1));
        bytes32[] memory longer = new bytes32[](p.proof.length + 1);
        for (uint256 i; i < p.proof.length; i++) {
            longer[i] = p.proof[i];
        }
        p.proof = longer;
        vm.expectRevert(abi.encodeWithSelector(MerkleProof.MerkleProofInvalidMultiproof.selector));
        _submitPart(b, p, sigs);
        // A step taking a hash not made yet: one leaf, one proof hash, one flag set.
        p = _part(atts, _picks(1));
        p.proof = new bytes32[](1);
        p.flags = new bool[](1);
        p.flags[0] = true;
        vm.expectRevert(abi.encodeWithSelector(MerkleProof.MerkleProofInvalidMultiproof.selector));
        _submitPart(b, p, sigs);
    }

    function test_RevertBatchFaults() public {
        Attestation[] memory atts = _atts(2, 1);
        Batch memory b = _batch(atts, 1);
        Part memory p = _part(atts, _picks(1));
        bytes memory sigs = _signBatch(b);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchOfOtherFeed.selector, FEED_A, FEED_B));
        adapter.submitBatchPart(FEED_B, b, p.atts, p.proof, p.flags, sigs);
        bytes memory one = _signDigest(adapter.batchDigest(b), _keys(PK_CUSTODIAN));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, uint256(1), uint256(2)));
        adapter.submitBatchPart(FEED_A, b, p.atts, p.proof, p.flags, one);
        bytes memory outsider = _signDigest(adapter.batchDigest(b), _keys(PK_CUSTODIAN, PK_OUTSIDER));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownSigner.selector, vm.addr(PK_OUTSIDER)));
        adapter.submitBatchPart(FEED_A, b, p.atts, p.proof, p.flags, outsider);
        // Rule 3 on the batch's own time fields: expired.
        vm.warp(b.validUntil);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Expired.selector, b.validUntil, block.timestamp));
        adapter.submitBatchPart(FEED_A, b, p.atts, p.proof, p.flags, sigs);
    }

    // ------------------------------------------------------------------ replays: each account's sequence

    function test_PartOfOlderBatchAfterNewerWhole() public {
        Attestation[] memory older = _atts(3, 1);
        Batch memory b1 = _batch(older, 1);
        // Batch 2 of accounts 1 and 2 lands whole first.
        Attestation[] memory newer = _atts(2, 2);
        _submitBatch(_batch(newer, 2), newer);
        // Then batch 1 whole: refused as a batch.
        bytes memory sigs1 = _signBatch(b1);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchReplay.selector, uint64(2), uint64(1)));
        adapter.submitBatch(FEED_A, b1, older, sigs1);
        // A part of batch 1: account 1 and 2 refused (batch 2 updated them), account 3 lands.
        uint256[] memory all = new uint256[](3);
        (all[0], all[1], all[2]) = (0, 1, 2);
        Part memory p = _part(older, all);
        for (uint256 i; i < 3; i++) {
            if (older[i].account != _account(3)) {
                _expectRefused(
                    older[i].account, 1, abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(2), uint64(1))
                );
            }
        }
        _expectPartAccepted(b1, 3, 2);
        _submitPart(b1, p);
        assertEq(adapter.latest(ACCOUNT_1).sequence, 2, "account 1 keeps batch 2's");
        assertEq(adapter.latest(_account(2)).sequence, 2, "account 2 keeps batch 2's");
        assertEq(adapter.collateralValue(_account(3)), 3 * V, "account 3 written from batch 1");
        assertEq(adapter.batchSequence(FEED_A), 2, "the feed's batch sequence unchanged");
    }

    function test_SamePartTwice() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        Part memory p = _part(atts, _picks(1, 3));
        _submitPart(b, p);
        for (uint256 i; i < 2; i++) {
            _expectRefused(p.atts[i].account, 1, abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(1), uint64(1)));
        }
        _expectPartAccepted(b, 2, 2);
        _submitPart(b, p);
        assertEq(adapter.pledgedCollateral(FEED_A), p.atts[0].collateralValue + p.atts[1].collateralValue, "counted once");
    }

    function test_PartAfterWholeBatch() public {
        Attestation[] memory atts = _atts(3, 4);
        Batch memory b = _batch(atts, 4);
        _submitBatch(b, atts);
        assertEq(adapter.batchSequence(FEED_A), 4, "the whole batch's sequence");
        Part memory p = _part(atts, _picks(2));
        _expectRefused(p.atts[0].account, 4, abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(4), uint64(4)));
        _expectPartAccepted(b, 1, 1);
        _submitPart(b, p);
    }

    /// Two attestations of one account in a batch (which the gateway's tree refuses and
    /// submitBatch reverts): in a part the second is checked against what the first wrote,
    /// so at the same sequence it is a Replay.
    function test_DuplicateAccountInPart() public {
        Attestation[] memory atts = _atts(3, 1);
        atts[2] = _valuation(1, 9 * V); // account 1 again, same sequence, another value
        Batch memory b = _batch(atts, 1);
        uint256[] memory all = new uint256[](3);
        (all[0], all[1], all[2]) = (0, 1, 2);
        Part memory p = _part(atts, all);
        uint256 first = p.atts[0].account == ACCOUNT_1 ? 0 : p.atts[1].account == ACCOUNT_1 ? 1 : 2;
        uint256 second = first == 0 && p.atts[1].account != ACCOUNT_1 ? 2 : first + 1;
        assertEq(p.atts[second].account, ACCOUNT_1, "account 1 twice");
        _expectRefused(ACCOUNT_1, 1, abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(1), uint64(1)));
        _expectPartAccepted(b, 3, 1);
        _submitPart(b, p);
        assertEq(adapter.collateralValue(ACCOUNT_1), p.atts[first].collateralValue, "the first in leaf order");
    }

    // ------------------------------------------------------------------ a held rise released, then its part

    function test_HeldRiseReleasedThenPart() public {
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, 2500, 3); // +25% needs three roles
        Attestation[] memory atts = _atts(3, 1);
        _submitBatch(_batch(atts, 1), atts);

        vm.warp(block.timestamp + 1 hours);
        atts = _atts(3, 2);
        atts[0].collateralValue = 2 * V; // account 1: +100% over V
        Batch memory b = _batch(atts, 2);
        bytes memory sigs = _signBatch(b);
        uint256 i = _indexOf(atts, ACCOUNT_1);
        _expectRefused(
            ACCOUNT_1, 2, abi.encodeWithSelector(CustosAdapter.BreakerHeld.selector, V, 2 * V, uint256(2), uint256(3))
        );
        adapter.submitBatch(FEED_A, b, atts, sigs);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "held");

        // The owner releases that attestation; the same signed batch carries it, in a part.
        bytes32 held = adapter.digest(atts[i]);
        vm.prank(OWNER);
        adapter.releaseHeld(ACCOUNT_1, held);
        Part memory p = _part(atts, _picks(i));
        _expectPartAccepted(b, 1, 0);
        adapter.submitBatchPart(FEED_A, b, p.atts, p.proof, p.flags, sigs);
        assertEq(adapter.collateralValue(ACCOUNT_1), 2 * V, "released and written");
        assertEq(adapter.latest(ACCOUNT_1).sequence, 2, "at the batch's sequence");
        assertEq(adapter.pledgedCollateral(FEED_A), 2 * V + 2 * V + 3 * V, "the pledged total follows");
    }
}
