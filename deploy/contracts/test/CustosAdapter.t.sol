// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation, StoredAttestation} from "../src/CustosTypes.sol";

/// submit(): happy paths and every refusal.
contract CustosAdapterTest is CustosFixture {
    uint256 internal constant V = 100_000_000e18;

    // ------------------------------------------------------------------ happy paths

    function test_Valuation2of2DistinctRoles() public {
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectEmit(true, true, true, true, address(adapter));
        emit CustosAdapter.AttestationAccepted(ACCOUNT_1, FEED_A, 1, 0, V, a.asOf, _digest(a));
        adapter.submit(FEED_A, a, sigs);

        StoredAttestation memory s = adapter.latest(ACCOUNT_1);
        assertEq(s.feedId, FEED_A, "feedId");
        assertEq(s.beneficiary, MARKET_A, "beneficiary");
        assertEq(s.kind, 0, "kind");
        assertEq(s.collateralValue, V, "value");
        assertEq(s.asOf, a.asOf, "asOf");
        assertEq(s.validUntil, a.validUntil, "validUntil");
        assertEq(s.sequence, 1, "sequence");
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "collateralValue");
        assertEq(adapter.collateralValueFor(ACCOUNT_1, MARKET_A), V, "collateralValueFor");
    }

    function test_UpdateSameBeneficiary() public {
        _submit(_valuation(1, V));
        vm.warp(T0 + 1 hours);
        _submit(_valuation(2, V / 2));
        assertEq(adapter.collateralValue(ACCOUNT_1), V / 2, "value falls");
        assertEq(adapter.latest(ACCOUNT_1).sequence, 2, "sequence");
    }

    function test_FirstSequenceMayBeZero() public {
        _submit(_valuation(0, V));
        assertEq(adapter.latest(ACCOUNT_1).sequence, 0, "sequence 0");
        Attestation memory a = _valuation(0, V);
        a.validUntil += 1; // a different attestation with the same sequence
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(0), uint64(0)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_ThreeSignersAllRolesCounted() public {
        Attestation memory a = _valuation(1, V);
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_AUDITOR, PK_ADMIN, PK_AGENT)));
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "value");
    }

    function test_ReleaseThenRepledge() public {
        _submit(_valuation(1, V));

        Attestation memory b = _valuation(2, V);
        b.beneficiary = MARKET_B;
        bytes memory sigsB = _sign(b, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.PledgedElsewhere.selector, MARKET_A));
        adapter.submit(FEED_A, b, sigsB);

        Attestation memory r = _ofKind(_valuation(2, V), 1);
        _submit(r);
        StoredAttestation memory s = adapter.latest(ACCOUNT_1);
        assertEq(s.beneficiary, address(0), "released");
        assertEq(s.kind, 1, "kind release");
        assertEq(s.collateralValue, 0, "released value not counted");
        assertEq(adapter.collateralValue(ACCOUNT_1), 0, "collateralValue after release");

        b.sequence = 3;
        _submit(b);
        assertEq(adapter.latest(ACCOUNT_1).beneficiary, MARKET_B, "re-pledged");
        assertEq(adapter.collateralValueFor(ACCOUNT_1, MARKET_B), V, "value for B");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.PledgedElsewhere.selector, MARKET_B));
        adapter.collateralValueFor(ACCOUNT_1, MARKET_A);
    }

    function test_FreezeByCustodianAlone() public {
        _submit(_valuation(1, V));
        Attestation memory f = _ofKind(_valuation(2, V), 2);
        bytes memory sig = _sign(f, _keys(PK_CUSTODIAN));
        vm.expectEmit(true, true, true, true, address(adapter));
        emit CustosAdapter.AttestationAccepted(ACCOUNT_1, FEED_A, 2, 2, 0, f.asOf, _digest(f));
        adapter.submit(FEED_A, f, sig);

        StoredAttestation memory s = adapter.latest(ACCOUNT_1);
        assertEq(s.collateralValue, 0, "frozen value zeroed");
        assertEq(s.beneficiary, MARKET_A, "pledge kept");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Frozen.selector, ACCOUNT_1, uint64(2)));
        adapter.collateralValue(ACCOUNT_1);

        // A later quorum-signed valuation lifts the freeze.
        _submit(_valuation(3, V / 4));
        assertEq(adapter.collateralValue(ACCOUNT_1), V / 4, "valued again");
    }

    function test_FreezeOfUnpledgedAccount() public {
        Attestation memory f = _ofKind(_valuation(1, 0), 2);
        f.beneficiary = address(0);
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN_2)));
        assertEq(adapter.latest(ACCOUNT_1).kind, 2, "frozen");
    }

    function test_SingleSignerFeed() public {
        Attestation memory a = _valuation(7, V);
        a.account = ACCOUNT_B;
        adapter.submit(FEED_B, a, _sign(a, _keys(PK_BANK_B)));
        assertEq(adapter.collateralValue(ACCOUNT_B), V, "bank-b value");
    }

    // ------------------------------------------------------------------ feed and account

    function test_RevertUnknownFeed() public {
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        bytes32 nope = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownFeed.selector, nope));
        adapter.submit(nope, a, sigs);
    }

    function test_RevertUnknownAccount() public {
        Attestation memory a = _valuation(1, V);
        a.account = keccak256("unregistered");
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownAccount.selector, a.account));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertAccountOfOtherFeed() public {
        // bank-b's custodian attests bank-a's account through its own feed.
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_BANK_B));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.AccountOfOtherFeed.selector, ACCOUNT_1, FEED_A));
        adapter.submit(FEED_B, a, sigs);
        // ... and through bank-a's feed its key is unknown.
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownSigner.selector, vm.addr(PK_BANK_B)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertUnknownKind() public {
        Attestation memory a = _ofKind(_valuation(1, V), 3);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownKind.selector, uint8(3)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertValueOutOfRange() public {
        uint256 big = uint256(type(uint128).max) + 1;
        Attestation memory a = _valuation(1, 0);
        a.collateralValue = big;
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.ValueOutOfRange.selector, big));
        adapter.submit(FEED_A, a, sigs);
    }

    // ------------------------------------------------------------------ time

    function test_RevertStale() public {
        Attestation memory a = _valuation(1, V);
        a.validUntil = uint64(T0 + MAX_TTL);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.warp(T0 + MAX_AGE); // exactly maxAge old: still fresh
        adapter.submit(FEED_A, a, sigs);

        Attestation memory b = _valuation(2, V);
        b.asOf = uint64(T0);
        b.validUntil = uint64(T0 + MAX_TTL);
        sigs = _sign(b, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.warp(T0 + MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Stale.selector, uint64(T0), T0 + MAX_AGE + 1));
        adapter.submit(FEED_A, b, sigs);
    }

    function test_RevertFromFuture() public {
        Attestation memory a = _valuation(1, V);
        a.asOf = uint64(T0 + MAX_SKEW); // within the skew: accepted
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT)));

        Attestation memory b = _valuation(2, V);
        b.asOf = uint64(T0 + MAX_SKEW + 1);
        bytes memory sigs = _sign(b, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.FromFuture.selector, b.asOf, T0));
        adapter.submit(FEED_A, b, sigs);
    }

    function test_RevertExpired() public {
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.warp(a.validUntil);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Expired.selector, a.validUntil, uint256(a.validUntil)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertInvalidWindow() public {
        Attestation memory a = _valuation(1, V);
        a.asOf = uint64(T0 + 60);
        a.validUntil = uint64(T0 + 30); // after now, before asOf
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.InvalidWindow.selector, a.asOf, a.validUntil));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertTtlTooLong() public {
        Attestation memory a = _valuation(1, V);
        a.validUntil = uint64(T0 + MAX_TTL + 1);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TtlTooLong.selector, uint64(MAX_TTL + 1), uint64(MAX_TTL)));
        adapter.submit(FEED_A, a, sigs);
    }

    // ------------------------------------------------------------------ account state

    function test_RevertReplay() public {
        Attestation memory a = _valuation(5, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        adapter.submit(FEED_A, a, sigs);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(5), uint64(5)));
        adapter.submit(FEED_A, a, sigs); // the very same transaction again

        Attestation memory older = _valuation(4, V * 2);
        sigs = _sign(older, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Replay.selector, uint64(5), uint64(4)));
        adapter.submit(FEED_A, older, sigs);
    }

    function test_RevertPledgedElsewhereOnRelease() public {
        _submit(_valuation(1, V));
        Attestation memory r = _ofKind(_valuation(2, V), 1);
        r.beneficiary = MARKET_B; // releases a pledge that is not the current one
        bytes memory sigs = _sign(r, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.PledgedElsewhere.selector, MARKET_A));
        adapter.submit(FEED_A, r, sigs);
    }

    function test_RevertValuationUnpledgingWithoutRelease() public {
        _submit(_valuation(1, V));
        Attestation memory a = _valuation(2, V);
        a.beneficiary = address(0);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.PledgedElsewhere.selector, MARKET_A));
        adapter.submit(FEED_A, a, sigs);
    }

    // ------------------------------------------------------------------ signatures

    function test_RevertMalformedSignatures() public {
        Attestation memory a = _valuation(1, V);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.MalformedSignatures.selector, uint256(0)));
        adapter.submit(FEED_A, a, "");
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        bytes memory cut = new bytes(129);
        for (uint256 i; i < 129; i++) {
            cut[i] = sigs[i];
        }
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.MalformedSignatures.selector, uint256(129)));
        adapter.submit(FEED_A, a, cut);
    }

    function test_RevertNonCanonicalHighS() public {
        Attestation memory a = _valuation(1, V);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PK_CUSTODIAN, _digest(a));
        // The same signature with s' = n - s and the other v recovers the same key.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory sig = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NonCanonicalSignature.selector, uint256(0)));
        adapter.submit(FEED_B, _forB(a), sig);
    }

    function test_RevertNonCanonicalV() public {
        Attestation memory a = _forB(_valuation(1, V));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PK_BANK_B, _digest(a));
        bytes memory sig = abi.encodePacked(r, s, v - 27); // v in {0, 1}
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NonCanonicalSignature.selector, uint256(0)));
        adapter.submit(FEED_B, a, sig);
    }

    function test_RevertBadSignature() public {
        Attestation memory a = _forB(_valuation(1, V));
        bytes memory sig = abi.encodePacked(bytes32(0), bytes32(uint256(1)), uint8(27)); // r = 0 recovers nothing
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BadSignature.selector, uint256(0)));
        adapter.submit(FEED_B, a, sig);
    }

    function test_RevertDuplicateSigner() public {
        Attestation memory a = _valuation(1, V);
        bytes memory one = _sig(PK_CUSTODIAN, _digest(a));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.DuplicateOrUnsortedSigner.selector, uint256(1)));
        adapter.submit(FEED_A, a, bytes.concat(one, one));
    }

    function test_RevertUnsortedSigners() public {
        Attestation memory a = _valuation(1, V);
        bytes32 d = _digest(a);
        (uint256 lo, uint256 hi) = vm.addr(PK_CUSTODIAN) < vm.addr(PK_AGENT)
            ? (PK_CUSTODIAN, PK_AGENT)
            : (PK_AGENT, PK_CUSTODIAN);
        bytes memory sigs = bytes.concat(_sig(hi, d), _sig(lo, d));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.DuplicateOrUnsortedSigner.selector, uint256(1)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertUnknownSigner() public {
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_OUTSIDER));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownSigner.selector, vm.addr(PK_OUTSIDER)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertRevokedSigner() public {
        vm.prank(OWNER);
        adapter.revokeSigner(FEED_A, vm.addr(PK_AGENT));
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.RevokedSigner.selector, vm.addr(PK_AGENT)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertBelowThreshold() public {
        Attestation memory a = _forB(_valuation(1, V));
        vm.prank(OWNER);
        adapter.setFeed(FEED_B, 2, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        bytes memory sigs = _sign(a, _keys(PK_BANK_B));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.BelowThreshold.selector, uint256(1), uint256(2)));
        adapter.submit(FEED_B, a, sigs);
    }

    function test_RevertTooFewRoles() public {
        Attestation memory a = _valuation(1, V);
        // Two distinct signers, one institution role: not enough for a distinct-roles feed.
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_CUSTODIAN_2));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, uint256(1), uint256(2)));
        adapter.submit(FEED_A, a, sigs);
        // A single signature on the 2-role feed.
        sigs = _sign(a, _keys(PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, uint256(1), uint256(2)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertFreezeNeedsCustodian() public {
        Attestation memory f = _ofKind(_valuation(1, 0), 2);
        bytes memory sigs = _sign(f, _keys(PK_AGENT));
        vm.expectRevert(_err(CustosAdapter.FreezeNeedsCustodian.selector));
        adapter.submit(FEED_A, f, sigs);
    }

    function test_RevertReleaseNeedsQuorum() public {
        _submit(_valuation(1, V));
        Attestation memory r = _ofKind(_valuation(2, V), 1);
        bytes memory sigs = _sign(r, _keys(PK_CUSTODIAN));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, uint256(1), uint256(2)));
        adapter.submit(FEED_A, r, sigs);
    }

    function test_RevertTamperedField() public {
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        a.collateralValue = V * 10; // the gateway inflates the value
        // The signatures now recover to unrelated keys.
        (bool ok, bytes memory ret) =
            address(adapter).call(abi.encodeCall(CustosAdapter.submit, (FEED_A, a, sigs)));
        assertTrue(!ok, "tampered attestation accepted");
        bytes4 sel;
        assembly {
            sel := mload(add(ret, 32))
        }
        assertTrue(
            sel == CustosAdapter.UnknownSigner.selector || sel == CustosAdapter.DuplicateOrUnsortedSigner.selector,
            "tampered: unexpected error"
        );
    }

    // ------------------------------------------------------------------ helpers

    function _forB(Attestation memory a) internal pure returns (Attestation memory) {
        a.account = ACCOUNT_B;
        return a;
    }
}
