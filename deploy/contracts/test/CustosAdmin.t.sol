// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// Key rotation, administration and the reverting read view.
contract CustosAdminTest is CustosFixture {
    uint256 internal constant V = 50_000_000e18;
    uint256 internal constant PK_AGENT_NEW = 0xC0FFEE12;

    // ------------------------------------------------------------------ rotation

    function test_RotationOverlap() public {
        address oldKey = vm.addr(PK_AGENT);
        address newKey = vm.addr(PK_AGENT_NEW);
        vm.prank(OWNER);
        adapter.rotateSigner(FEED_A, oldKey, newKey, 1 days);
        (uint8 status, uint8 role, uint64 retiresAt) = adapter.signer(FEED_A, newKey);
        assertEq(status, 1, "new key active");
        assertEq(role, 1, "new key inherits the role");
        (,, retiresAt) = adapter.signer(FEED_A, oldKey);
        assertEq(retiresAt, T0 + 1 days, "old key deadline");

        // During the overlap both keys sign.
        vm.warp(T0 + 1 days - 1);
        _submit(_valuation(1, V));
        Attestation memory a = _valuation(2, V);
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT_NEW)));

        // Old and new key of the same party are one signer, not two.
        vm.prank(OWNER);
        adapter.setFeed(FEED_A, 2, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        Attestation memory b = _valuation(3, V);
        bytes memory both = _sign(b, _keys(PK_AGENT, PK_AGENT_NEW));
        address second = oldKey > newKey ? oldKey : newKey;
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.DuplicateSignerSlot.selector, second));
        adapter.submit(FEED_A, b, both);

        // After the deadline the old key is out.
        vm.warp(T0 + 1 days);
        Attestation memory c = _valuation(3, V);
        bytes memory sigs = _sign(c, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.RotatedOut.selector, oldKey, uint64(T0 + 1 days)));
        adapter.submit(FEED_A, c, sigs);
        adapter.submit(FEED_A, c, _sign(c, _keys(PK_CUSTODIAN, PK_AGENT_NEW)));
    }

    function test_RotationWithoutOverlapAndRevokeDuringOverlap() public {
        vm.prank(OWNER);
        adapter.rotateSigner(FEED_A, vm.addr(PK_AGENT), vm.addr(PK_AGENT_NEW), 0);
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.RotatedOut.selector, vm.addr(PK_AGENT), uint64(T0)));
        adapter.submit(FEED_A, a, sigs);

        vm.prank(OWNER);
        adapter.rotateSigner(FEED_A, vm.addr(PK_ADMIN), address(0xD00D), 1 days);
        vm.prank(OWNER);
        adapter.revokeSigner(FEED_A, vm.addr(PK_ADMIN));
        sigs = _sign(a, _keys(PK_CUSTODIAN, PK_ADMIN));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.RevokedSigner.selector, vm.addr(PK_ADMIN)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_RevertRotationErrors() public {
        vm.startPrank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.OverlapTooLong.selector, uint64(31 days)));
        adapter.rotateSigner(FEED_A, vm.addr(PK_AGENT), vm.addr(PK_AGENT_NEW), 31 days);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SignerExists.selector, vm.addr(PK_ADMIN)));
        adapter.rotateSigner(FEED_A, vm.addr(PK_AGENT), vm.addr(PK_ADMIN), 1 days);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.InvalidSigner.selector, address(0)));
        adapter.rotateSigner(FEED_A, vm.addr(PK_AGENT), address(0), 1 days);
        adapter.rotateSigner(FEED_A, vm.addr(PK_AGENT), vm.addr(PK_AGENT_NEW), 1 days);
        // A retiring key cannot be rotated again.
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SignerNotActive.selector, vm.addr(PK_AGENT)));
        adapter.rotateSigner(FEED_A, vm.addr(PK_AGENT), address(0xD00D), 1 days);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SignerNotActive.selector, vm.addr(PK_OUTSIDER)));
        adapter.revokeSigner(FEED_A, vm.addr(PK_OUTSIDER));
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ administration

    function test_RevertNotOwner() public {
        bytes memory err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this));
        vm.expectRevert(err);
        adapter.setFeed(FEED_A, 1, false, 1, 0, 1);
        vm.expectRevert(err);
        adapter.addSigner(FEED_A, address(0xD00D), 0);
        vm.expectRevert(err);
        adapter.revokeSigner(FEED_A, vm.addr(PK_CUSTODIAN));
        vm.expectRevert(err);
        adapter.rotateSigner(FEED_A, vm.addr(PK_CUSTODIAN), address(0xD00D), 0);
        vm.expectRevert(err);
        adapter.registerAccount(keccak256("x"), FEED_A);
    }

    function test_OwnershipTwoStep() public {
        vm.prank(OWNER);
        adapter.transferOwnership(address(this));
        assertEq(adapter.owner(), OWNER, "not yet transferred");
        adapter.acceptOwnership();
        assertEq(adapter.owner(), address(this), "transferred");
        adapter.setFeed(keccak256("new"), 1, false, 1 days, 0, 1 days);
    }

    function test_RevertAdminValidation() public {
        vm.startPrank(OWNER);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setFeed(FEED_A, 0, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setFeed(FEED_A, 5, true, MAX_AGE, MAX_SKEW, MAX_TTL);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setFeed(FEED_A, 1, false, 0, MAX_SKEW, MAX_TTL);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setFeed(FEED_A, 1, false, MAX_AGE, MAX_SKEW, 0);
        bytes32 nope = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownFeed.selector, nope));
        adapter.addSigner(nope, address(0xD00D), 0);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.InvalidRole.selector, uint8(4)));
        adapter.addSigner(FEED_A, address(0xD00D), 4);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.InvalidSigner.selector, address(0)));
        adapter.addSigner(FEED_A, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SignerExists.selector, vm.addr(PK_AGENT)));
        adapter.addSigner(FEED_A, vm.addr(PK_AGENT), 1);
        adapter.revokeSigner(FEED_A, vm.addr(PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SignerExists.selector, vm.addr(PK_AGENT)));
        adapter.addSigner(FEED_A, vm.addr(PK_AGENT), 1); // revocation is final
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.AccountAlreadyRegistered.selector, ACCOUNT_1, FEED_A));
        adapter.registerAccount(ACCOUNT_1, FEED_B);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownFeed.selector, nope));
        adapter.registerAccount(keccak256("x"), nope);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownFeed.selector, nope));
        adapter.feed(nope);
    }

    function test_RevertTooManySigners() public {
        vm.startPrank(OWNER);
        adapter.setFeed(keccak256("big"), 1, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        for (uint256 i = 1; i <= 256; i++) {
            adapter.addSigner(keccak256("big"), address(uint160(0x1000 + i)), 0);
        }
        vm.expectRevert(_err(CustosAdapter.TooManySigners.selector));
        adapter.addSigner(keccak256("big"), address(0xD00D), 0);
        vm.stopPrank();
    }

    function test_RevertTooManyFeeds() public {
        vm.store(address(adapter), bytes32(uint256(4)), bytes32(uint256(type(uint16).max))); // _feedCount
        vm.prank(OWNER);
        vm.expectRevert(_err(CustosAdapter.TooManyFeeds.selector));
        adapter.setFeed(keccak256("one too many"), 1, false, MAX_AGE, MAX_SKEW, MAX_TTL);
    }

    function test_FeedPolicyUpdateKeepsSigners() public {
        vm.prank(OWNER);
        adapter.setFeed(FEED_A, 3, true, 1 days, 0, 2 days);
        (
            uint8 threshold,
            bool distinct,
            uint32 maxAge,
            uint32 maxSkew,
            uint32 maxTtl,
            uint32 riseBps,
            uint8 releaseThreshold,
            uint32 maxStep
        ) = adapter.feed(FEED_A);
        assertEq(riseBps, 0, "no breaker by default");
        assertEq(releaseThreshold, 0, "no release threshold by default");
        assertEq(maxStep, adapter.DEFAULT_MAX_SEQUENCE_STEP(), "default sequence step");
        assertEq(threshold, 3, "threshold");
        assertTrue(distinct, "distinct roles");
        assertEq(maxAge, 1 days, "maxAge");
        assertEq(maxSkew, 0, "maxSkew");
        assertEq(maxTtl, 2 days, "maxTtl");
        Attestation memory a = _valuation(1, V);
        bytes memory two = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, uint256(2), uint256(3)));
        adapter.submit(FEED_A, a, two);
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT, PK_AUDITOR)));
        assertEq(adapter.accountFeedId(ACCOUNT_1), FEED_A, "binding");
    }

    // ------------------------------------------------------------------ reading

    function test_CollateralValueRevertsWhenUnusable() public {
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, ACCOUNT_1));
        adapter.collateralValue(ACCOUNT_1);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, ACCOUNT_1));
        adapter.latest(ACCOUNT_1);

        Attestation memory a = _valuation(1, V);
        a.validUntil = uint64(T0 + MAX_TTL);
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT)));
        vm.warp(T0 + MAX_AGE);
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "fresh at maxAge");
        vm.warp(T0 + MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Stale.selector, uint64(T0), T0 + MAX_AGE + 1));
        adapter.collateralValue(ACCOUNT_1);

        // validUntil before maxAge: Expired first.
        vm.warp(T0 + 1 hours);
        Attestation memory b = _valuation(2, V);
        b.validUntil = uint64(T0 + 2 hours);
        adapter.submit(FEED_A, b, _sign(b, _keys(PK_CUSTODIAN, PK_AGENT)));
        vm.warp(T0 + 2 hours);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.Expired.selector, uint64(T0 + 2 hours), T0 + 2 hours));
        adapter.collateralValue(ACCOUNT_1);
        // latest() still shows it.
        assertEq(adapter.latest(ACCOUNT_1).collateralValue, V, "latest ignores age");
    }

    function test_DomainSeparatorFollowsChainId() public {
        Attestation memory a = _forB(_valuation(1, V));
        bytes memory sig = _sign(a, _keys(PK_BANK_B));
        bytes32 sep = adapter.domainSeparator();
        vm.chainId(8453);
        assertTrue(adapter.domainSeparator() != sep, "separator unchanged after chain id change");
        // A signature for the old chain does not verify on the new one (it recovers
        // an unrelated key).
        (bool ok,) = address(adapter).call(abi.encodeCall(CustosAdapter.submit, (FEED_B, a, sig)));
        assertTrue(!ok, "cross-chain replay accepted");
        adapter.submit(FEED_B, a, _sign(a, _keys(PK_BANK_B)));
    }

    function _forB(Attestation memory a) internal pure returns (Attestation memory) {
        a.account = ACCOUNT_B;
        return a;
    }
}
