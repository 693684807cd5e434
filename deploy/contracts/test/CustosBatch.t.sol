// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosBatchFixture} from "./utils/CustosBatchFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation, Batch, StoredAttestation, CustosEIP712} from "../src/CustosTypes.sol";

/// submitBatch: one quorum signature over the StandardMerkleTree root of the accounts'
/// attestation struct hashes; each account checked as a single valuation, refused alone
/// (AccountRefused), the batch's own faults reverting it whole.
contract CustosBatchTest is CustosBatchFixture {
    // ------------------------------------------------------------------ accepted

    function test_BatchWritesEveryAccount() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        vm.expectEmit(true, true, true, true, address(adapter));
        emit BatchAccepted(FEED_A, 1, b.accountsRoot, 4, 0, adapter.batchDigest(b));
        adapter.submitBatch(FEED_A, b, atts, sigs);
        for (uint256 i = 1; i <= 4; i++) {
            StoredAttestation memory s = adapter.latest(_account(i));
            assertEq(s.collateralValue, V * i, "value");
            assertEq(s.sequence, 1, "sequence");
            assertEq(s.asOf, b.asOf, "asOf");
            assertEq(s.validUntil, b.validUntil, "validUntil");
            assertEq(s.beneficiary, MARKET_A, "beneficiary");
            assertEq(s.feedId, FEED_A, "feed");
            assertEq(adapter.collateralValueFor(_account(i), MARKET_A), V * i, "countable");
        }
        assertEq(adapter.batchSequence(FEED_A), 1, "batch sequence");
        assertEq(adapter.pledgedCollateral(FEED_A), 10 * V, "the feed's pledged total: V + 2V + 3V + 4V");

        // A later batch, and a single submit after it: the same per-account state.
        vm.warp(block.timestamp + 1 hours);
        atts = _atts(4, 2);
        _submitBatch(_batch(atts, 2), atts);
        assertEq(adapter.latest(ACCOUNT_1).sequence, 2, "second batch");
        vm.warp(block.timestamp + 1 hours);
        _submit(_valuation(3, V / 2));
        assertEq(adapter.collateralValue(ACCOUNT_1), V / 2, "single after batch");
        assertEq(adapter.pledgedCollateral(FEED_A), 10 * V - V / 2, "the pledged total follows");
    }

    function test_BatchOfOne() public {
        Attestation[] memory atts = _atts(1, 1);
        Batch memory b = _batch(atts, 7);
        assertEq(b.accountsRoot, _leafOf(atts[0]), "the root of one leaf is the leaf");
        _submitBatch(b, atts);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "written");
    }

    // ------------------------------------------------------------------ the batch refused whole

    function test_RevertBadLeaf() public {
        Attestation[] memory atts = _atts(4, 1);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        atts[2].collateralValue += 1; // not what was signed
        vm.expectRevert(); // WrongRoot or LeavesNotSorted, depending on where the leaf lands
        adapter.submitBatch(FEED_A, b, atts, sigs);
        assertEq(adapter.batchSequence(FEED_A), 0, "nothing written");
    }

    function test_RevertWrongRoot() public {
        Attestation[] memory atts = _atts(3, 1);
        Batch memory b = _batch(atts, 1);
        bytes32 rebuilt = b.accountsRoot;
        b.accountsRoot = keccak256("another root");
        bytes memory sigs = _signBatch(b); // the quorum signed a root the leaves do not give
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.WrongRoot.selector, b.accountsRoot, rebuilt));
        adapter.submitBatch(FEED_A, b, atts, sigs);
        // A leaf left out: the root of the rest is not the signed one either.
        b = _batch(atts, 1);
        sigs = _signBatch(b);
        Attestation[] memory fewer = new Attestation[](2);
        fewer[0] = atts[0];
        fewer[1] = atts[1];
        b.count = 2;
        vm.expectRevert(); // the signers did not sign count 2
        adapter.submitBatch(FEED_A, b, fewer, sigs);
    }

    function test_RevertLeavesOutOfOrder() public {
        Attestation[] memory atts = _atts(3, 1);
        Batch memory b = _batch(atts, 1);
        (atts[0], atts[1]) = (atts[1], atts[0]);
        bytes memory sigs = _signBatch(b);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.LeavesNotSorted.selector, uint256(1)));
        adapter.submitBatch(FEED_A, b, atts, sigs);
    }

    function test_RevertDuplicates() public {
        // The same account twice, with two different attestations (two leaves).
        Attestation[] memory atts = _atts(3, 1);
        atts[2] = _valuation(2, V * 9);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.DuplicateAccount.selector, ACCOUNT_1));
        adapter.submitBatch(FEED_A, b, atts, sigs);
        // The same leaf twice.
        atts = _atts(3, 1);
        atts[2] = atts[0];
        b = _batch(atts, 1);
        sigs = _signBatch(b);
        vm.expectRevert(); // LeavesNotSorted at the second copy
        adapter.submitBatch(FEED_A, b, atts, sigs);
    }

    function test_RevertBatchFaults() public {
        Attestation[] memory atts = _atts(2, 1);
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        // Another feed's id than the signed one.
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchOfOtherFeed.selector, FEED_A, FEED_B));
        adapter.submitBatch(FEED_B, b, atts, sigs);
        // A count that is not the number of leaves.
        Attestation[] memory none = new Attestation[](0);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchCountMismatch.selector, uint32(2), uint256(0)));
        adapter.submitBatch(FEED_A, b, none, sigs);
        // Below the feed's quorum.
        bytes memory one = _signDigest(adapter.batchDigest(b), _keys(PK_CUSTODIAN));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, uint256(1), uint256(2)));
        adapter.submitBatch(FEED_A, b, atts, one);
        // Rule 3 on the batch's own time fields.
        vm.warp(block.timestamp + MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Stale.selector, b.asOf, block.timestamp));
        adapter.submitBatch(FEED_A, b, atts, sigs);
    }

    function test_RevertBatchReplay() public {
        Attestation[] memory atts = _atts(2, 1);
        Batch memory b = _batch(atts, 5);
        bytes memory sigs = _signBatch(b);
        adapter.submitBatch(FEED_A, b, atts, sigs);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BatchReplay.selector, uint64(5), uint64(5)));
        adapter.submitBatch(FEED_A, b, atts, sigs);
    }

    // ------------------------------------------------------------------ one account refused alone


    function test_MixedFeedsRefused() public {
        Attestation[] memory atts = _atts(3, 1);
        atts[1].account = ACCOUNT_B; // bound to FEED_B: feed A's signers cannot attest it
        Batch memory b = _batch(atts, 1);
        _expectRefused(
            ACCOUNT_B, 1, abi.encodeWithSelector(CustosAdapter.AccountOfOtherFeed.selector, ACCOUNT_B, FEED_B)
        );
        _submitBatch(b, atts);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, ACCOUNT_B));
        adapter.latest(ACCOUNT_B);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "the others are written");
        assertEq(adapter.collateralValue(_account(3)), 3 * V, "the others are written");
    }

    function test_PerAccountRefusals() public {
        // Account 1 has sequence 5 and is pledged to MARKET_A.
        _submit(_valuation(5, V));
        Attestation[] memory atts = _atts(4, 1);
        atts[0].sequence = 5; // account 1: a replay
        atts[1].sequence = 1 + adapter.DEFAULT_MAX_SEQUENCE_STEP(); // account 2: too far
        atts[2].kind = 2; // account 3: a freeze never goes in a batch
        atts[3].validUntil -= 1; // account 4: not the batch's window
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        _expectRefusedAll(atts);
        vm.expectEmit(true, true, true, true, address(adapter));
        emit BatchAccepted(FEED_A, 1, b.accountsRoot, 4, 4, adapter.batchDigest(b));
        adapter.submitBatch(FEED_A, b, atts, sigs);
        assertEq(adapter.latest(ACCOUNT_1).sequence, 5, "unchanged");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, _account(2)));
        adapter.latest(_account(2));

        // One lender at a time, in a batch as alone.
        vm.warp(block.timestamp + 1 hours);
        atts = _atts(2, 6);
        atts[0].beneficiary = MARKET_B;
        b = _batch(atts, 2);
        _expectRefused(ACCOUNT_1, 2, abi.encodeWithSelector(CustosAdapter.PledgedElsewhere.selector, MARKET_A));
        _submitBatch(b, atts);
        assertEq(adapter.latest(_account(2)).sequence, 6, "the other account is written");
    }

    /// Expects the refusals of test_PerAccountRefusals in leaf order (the events' order).
    function _expectRefusedAll(Attestation[] memory atts) internal {
        for (uint256 i; i < atts.length; i++) {
            bytes32 a = atts[i].account;
            bytes memory why;
            if (a == ACCOUNT_1) {
                why = abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(5), uint64(5));
            } else if (a == _account(2)) {
                why = abi.encodeWithSelector(
                    CustosAdapter.SequenceJump.selector, uint64(0), atts[i].sequence, adapter.DEFAULT_MAX_SEQUENCE_STEP()
                );
            } else if (a == _account(3)) {
                why = abi.encodeWithSelector(CustosAdapter.KindNotInBatch.selector, uint8(2));
            } else {
                why = abi.encodeWithSelector(CustosAdapter.NotBatchTime.selector, atts[i].asOf, atts[i].validUntil);
            }
            _expectRefused(a, 1, why);
        }
    }

    function test_ValueOutOfRangeRefused() public {
        Attestation[] memory atts = _atts(2, 1);
        uint256 big = uint256(type(uint128).max) + 1;
        atts[1].collateralValue = big;
        Batch memory b = _batch(atts, 1);
        _expectRefused(_account(2), 1, abi.encodeWithSelector(CustosAdapter.ValueOutOfRange.selector, big));
        _submitBatch(b, atts);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "the other account is written");
    }

    // ------------------------------------------------------------------ breaker, fail-closed reads

    function test_BreakerHoldsOneAccount() public {
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, 2500, 3); // +25% needs three roles
        Attestation[] memory atts = _atts(2, 1);
        _submitBatch(_batch(atts, 1), atts);

        vm.warp(block.timestamp + 1 hours);
        atts = _atts(2, 2);
        uint256 i = _indexOf(atts, ACCOUNT_1);
        atts[i].collateralValue = 2 * V; // +100% over V
        Batch memory b = _batch(atts, 2);
        i = _indexOf(atts, ACCOUNT_1);
        _expectRefused(
            ACCOUNT_1,
            2,
            abi.encodeWithSelector(CustosAdapter.BreakerHeld.selector, V, 2 * V, uint256(2), uint256(3))
        );
        _submitBatch(b, atts);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "held: the base stays");
        assertEq(adapter.pledgedCollateral(FEED_A), 3 * V, "a refused account counts its old value");
        assertEq(adapter.latest(_account(2)).sequence, 2, "the other account is written");

        // The owner releases the account's own attestation digest; the quorum then passes.
        bytes32 heldDigest = adapter.digest(atts[i]);
        vm.prank(OWNER);
        adapter.releaseHeld(ACCOUNT_1, heldDigest);
        Attestation[] memory again = new Attestation[](1);
        again[0] = atts[i];
        _submitBatch(_batch(again, 3), again);
        assertEq(adapter.collateralValue(ACCOUNT_1), 2 * V, "released");

        // Three roles pass the breaker without the owner.
        vm.warp(block.timestamp + 1 hours);
        again[0] = _valuation(4, 8 * V);
        Batch memory b3 = _batch(again, 4);
        adapter.submitBatch(
            FEED_A, b3, again, _signDigest(adapter.batchDigest(b3), _keys(PK_CUSTODIAN, PK_AGENT, PK_AUDITOR))
        );
        assertEq(adapter.collateralValue(ACCOUNT_1), 8 * V, "three roles");
    }

    function test_FailClosedReadsAfterBatch() public {
        Attestation[] memory atts = _atts(2, 1);
        Batch memory b = _batch(atts, 1);
        _submitBatch(b, atts);
        (uint64 seq, uint256 answer, uint64 asOf) = adapter.accountRound(ACCOUNT_1, MARKET_A);
        assertEq(seq, 1, "round");
        assertEq(answer, V, "answer");
        assertEq(asOf, b.asOf, "updatedAt");
        (, answer,) = adapter.accountRound(ACCOUNT_1, MARKET_B);
        assertEq(answer, 0, "another lender counts nothing");

        // A freeze goes single and voids the value at once.
        Attestation memory f = _ofKind(_valuation(2, 0), 2);
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN)));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Frozen.selector, ACCOUNT_1, uint64(2)));
        adapter.collateralValue(ACCOUNT_1);
        (, answer,) = adapter.accountRound(ACCOUNT_1, MARKET_A);
        assertEq(answer, 0, "frozen");

        // Past validUntil, nothing counts.
        vm.warp(b.validUntil);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Expired.selector, b.validUntil, block.timestamp));
        adapter.collateralValue(_account(2));
        (, answer,) = adapter.accountRound(_account(2), MARKET_A);
        assertEq(answer, 0, "expired");
    }

    function test_FirstBatchAfterFreezeValues() public {
        // A valuation in a batch after a freeze counts again, as a single one would.
        _submit(_valuation(1, V));
        Attestation memory f = _ofKind(_valuation(2, 0), 2);
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN)));
        vm.warp(block.timestamp + 1 hours);
        Attestation[] memory atts = _atts(1, 3);
        _submitBatch(_batch(atts, 1), atts);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "valued again");
    }

    // ------------------------------------------------------------------ duplicates (the table in memory)

    /// Accounts i = 1..n with ids differing only in the given byte of the word, so that a
    /// hash of only some bits of the id would put them all in one entry.
    function _idsDifferingIn(uint256 n, uint256 bytePos) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](n);
        for (uint256 i; i < n; i++) {
            ids[i] = bytes32((i + 1) << (8 * (31 - bytePos)));
        }
    }

    function test_DuplicateFoundWherever() public {
        uint256[5] memory sizes = [uint256(2), 3, 5, 17, 64];
        for (uint256 k; k < sizes.length; k++) {
            uint256 n = sizes[k];
            for (uint256 j; j + 1 < n; j += (n > 5 ? 7 : 1)) {
                Attestation[] memory atts = _atts(n, 1);
                for (uint256 i; i < n; i++) {
                    atts[i].account = keccak256(abi.encode("dup", n, i));
                }
                // Account j again, last: another attestation of it (another leaf).
                bytes32 twice = atts[j].account;
                atts[n - 1].account = twice;
                atts[n - 1].sequence = 9;
                Batch memory b = _batch(atts, 1);
                bytes memory sigs = _signBatch(b);
                vm.expectRevert(abi.encodeWithSelector(CustosAdapter.DuplicateAccount.selector, twice));
                adapter.submitBatch(FEED_A, b, atts, sigs);
            }
        }
        assertEq(adapter.batchSequence(FEED_A), 0, "nothing written");
    }

    function test_DuplicateOfAccountZero() public {
        // The id 0 can be registered; twice in a batch it is a duplicate like any other.
        vm.prank(OWNER);
        adapter.registerAccount(bytes32(0), FEED_A);
        Attestation[] memory atts = _atts(3, 1);
        atts[0].account = bytes32(0);
        atts[2].account = bytes32(0);
        atts[2].sequence = 2;
        Batch memory b = _batch(atts, 1);
        bytes memory sigs = _signBatch(b);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.DuplicateAccount.selector, bytes32(0)));
        adapter.submitBatch(FEED_A, b, atts, sigs);
    }

    function test_DistinctIdsAlikeInMostBitsAllWritten() public {
        uint256 n = 40;
        uint256[3] memory positions = [uint256(0), 15, 31]; // the top, a middle and the low byte
        for (uint256 k; k < positions.length; k++) {
            bytes32[] memory ids = _idsDifferingIn(n, positions[k]);
            Attestation[] memory atts = _atts(n, 1);
            for (uint256 i; i < n; i++) {
                vm.prank(OWNER);
                adapter.registerAccount(ids[i], FEED_A);
                atts[i].account = ids[i];
            }
            Batch memory b = _batch(atts, uint64(k + 1));
            bytes memory sigs = _signBatch(b);
            vm.expectEmit(true, true, true, true, address(adapter));
            emit BatchAccepted(FEED_A, uint64(k + 1), b.accountsRoot, uint32(n), 0, adapter.batchDigest(b));
            adapter.submitBatch(FEED_A, b, atts, sigs);
            for (uint256 i; i < n; i++) {
                assertEq(adapter.latest(ids[i]).collateralValue, V * (i + 1), "written");
            }
        }
    }

    // ------------------------------------------------------------------ the common case and the rules' path

    function test_CommonCaseAndRulesPathTogether() public {
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, 2500, 3); // +25% needs three roles
        Attestation[] memory atts = _atts(4, 1); // first valuations: V, 2V, 3V, 4V
        _submitBatch(_batch(atts, 1), atts);
        assertEq(adapter.pledgedCollateral(FEED_A), 10 * V, "first valuations");

        // Account 4 released by a single submit: it counts nothing, its base stays 4V.
        Attestation memory r = _ofKind(_valuation(2, 0), 1);
        r.account = _account(4);
        adapter.submit(FEED_A, r, _sign(r, _keys(PK_CUSTODIAN, PK_AGENT)));
        assertEq(adapter.pledgedCollateral(FEED_A), 6 * V, "released");

        vm.warp(block.timestamp + 1 hours);
        atts = _atts(4, 3);
        atts[_indexOf(atts, ACCOUNT_1)].collateralValue = 2 * V; // +100%: held (the rules' path)
        atts[_indexOf(atts, _account(2))].collateralValue = V; // a fall (the common case)
        atts[_indexOf(atts, _account(3))].collateralValue = 3 * V + 3 * V / 10; // +10%: weighed, written
        uint256 i4 = _indexOf(atts, _account(4));
        atts[i4].beneficiary = MARKET_B; // re-pledged after its release, at its base (the common case)
        atts[i4].collateralValue = 4 * V;
        Batch memory b = _batch(atts, 2);
        _expectRefused(
            ACCOUNT_1, 2, abi.encodeWithSelector(CustosAdapter.BreakerHeld.selector, V, 2 * V, uint256(2), uint256(3))
        );
        vm.expectEmit(true, true, true, true, address(adapter));
        emit BatchAccepted(FEED_A, 2, b.accountsRoot, 4, 1, adapter.batchDigest(b));
        _submitBatch(b, atts);

        assertEq(adapter.latest(ACCOUNT_1).sequence, 1, "held: unchanged");
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "held: unchanged");
        assertEq(adapter.collateralValue(_account(2)), V, "fell");
        assertEq(adapter.collateralValue(_account(3)), 3 * V + 3 * V / 10, "rose within the bound");
        StoredAttestation memory s4 = adapter.latest(_account(4));
        assertEq(s4.beneficiary, MARKET_B, "pledged to its new lender");
        assertEq(s4.kind, 0, "a valuation again");
        assertEq(s4.sequence, 3, "sequence");
        assertEq(adapter.collateralValueFor(_account(4), MARKET_B), 4 * V, "countable by its new lender");
        assertEq(
            adapter.pledgedCollateral(FEED_A), V + V + (3 * V + 3 * V / 10) + 4 * V, "both paths' changes, added once"
        );
    }

    function test_BreakerBoundExactInBatch() public {
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, 2500, 3); // +25% needs three roles
        uint256 top = type(uint128).max;
        uint256[4] memory bases = [uint256(1001), 1001, top - (1 << 100), 1 << 127];
        Attestation[] memory atts = _atts(4, 1);
        for (uint256 i; i < 4; i++) {
            atts[_indexOf(atts, _account(i + 1))].collateralValue = bases[i];
        }
        _submitBatch(_batch(atts, 1), atts);

        // floor(1001 * 2500 / 10000) = 250: a rise of 250 flows, 251 is held. Near 2^128, a
        // rise of 2^100 - 1 over 2^128 - 2^100 flows, a doubling from 2^127 is held.
        uint256[4] memory values = [uint256(1001 + 250), 1001 + 251, top, top];
        vm.warp(block.timestamp + 1 hours);
        atts = _atts(4, 2);
        for (uint256 i; i < 4; i++) {
            atts[_indexOf(atts, _account(i + 1))].collateralValue = values[i];
        }
        Batch memory b = _batch(atts, 2);
        for (uint256 i; i < 4; i++) {
            bytes32 a = atts[i].account;
            if (a == _account(2)) {
                _expectRefused(
                    a, 2, abi.encodeWithSelector(CustosAdapter.BreakerHeld.selector, 1001, 1252, uint256(2), uint256(3))
                );
            } else if (a == _account(4)) {
                _expectRefused(
                    a,
                    2,
                    abi.encodeWithSelector(CustosAdapter.BreakerHeld.selector, 1 << 127, top, uint256(2), uint256(3))
                );
            }
        }
        _submitBatch(b, atts);
        assertEq(adapter.collateralValue(ACCOUNT_1), 1251, "at the bound: flows");
        assertEq(adapter.collateralValue(_account(2)), 1001, "one above: held");
        assertEq(adapter.collateralValue(_account(3)), top, "near 2^128, within the bound: flows");
        assertEq(adapter.collateralValue(_account(4)), 1 << 127, "near 2^128, beyond: held");
        assertEq(adapter.pledgedCollateral(FEED_A), 1251 + 1001 + top + (1 << 127), "the pledged total");
    }

    // ------------------------------------------------------------------ words out of their types' range

    /// The adapter's storage slots of its account mappings (Ownable2Step's two slots, then
    /// the adapter's declarations): _records at 6, _bindings at 7.
    uint256 internal constant RECORDS_SLOT = 6;
    uint256 internal constant BINDINGS_SLOT = 7;

    function test_SequenceWordAbove64BitsRefused() public {
        _submit(_valuation(1, V));
        bytes32 bindingSlot = keccak256(abi.encode(ACCOUNT_1, BINDINGS_SLOT));
        bytes32 recordSlot = keccak256(abi.encode(ACCOUNT_1, RECORDS_SLOT));
        assertEq(uint256(vm.load(address(adapter), bindingSlot)) & type(uint160).max, uint160(MARKET_A), "slot layout");
        // The last sequence put at 2^64 - 1, out of reach of any real feed: a word 4 above it
        // would be a step within the bound, but no uint64 can carry it.
        uint256 last = type(uint64).max;
        uint256 record = uint256(vm.load(address(adapter), recordSlot));
        record = (record & ~(uint256(type(uint64).max) << 128)) | (last << 128);
        vm.store(address(adapter), recordSlot, bytes32(record));
        assertEq(adapter.latest(ACCOUNT_1).sequence, last, "stored");

        vm.warp(block.timestamp + 1 hours);
        Attestation[] memory atts = _atts(1, 7);
        Attestation memory a = atts[0];
        uint256 word = last + 4;
        bytes32 structHash = keccak256(
            abi.encode(
                CustosEIP712.TYPEHASH,
                a.account,
                a.beneficiary,
                a.kind,
                a.grossValue,
                a.collateralValue,
                a.positionsRoot,
                a.asOf,
                a.validUntil,
                word
            )
        );
        Batch memory b = _batch(atts, 1);
        b.accountsRoot = keccak256(abi.encode(keccak256(abi.encode(structHash)))); // a tree of one leaf
        bytes memory data = abi.encodeCall(CustosAdapter.submitBatch, (FEED_A, b, atts, _signBatch(b)));
        // The attestation's sequence: the 9th word of the array's first element, after the
        // selector, feedId, the batch's 6 words, two offsets and the array's length.
        uint256 at = 4 + 32 * (1 + 6 + 2 + 1) + 32 * 8;
        assertEq(_wordAt(data, at), 7, "the sequence word");
        _putWord(data, at, word);
        _expectRefused(
            ACCOUNT_1,
            1,
            abi.encodeWithSelector(
                CustosAdapter.SequenceJump.selector, last, word, uint256(adapter.DEFAULT_MAX_SEQUENCE_STEP())
            )
        );
        (bool ok,) = address(adapter).call(data);
        assertTrue(ok, "the batch is accepted, the account refused");
        assertEq(uint256(vm.load(address(adapter), recordSlot)), record, "the record unchanged");
    }

    function _wordAt(bytes memory data, uint256 at) internal pure returns (uint256 w) {
        assembly {
            w := mload(add(add(data, 0x20), at))
        }
    }

    function _putWord(bytes memory data, uint256 at, uint256 w) internal pure {
        assembly {
            mstore(add(add(data, 0x20), at), w)
        }
    }
}
