// SPDX-License-Identifier: MIT
// The smallest ERC-20 the go/no-go balance and allowance checks need: compiled once with
// solc 0.8.26 (solcjs, optimizer 200 runs) into minimal_erc20.bin (evm paris), deployed by LocalChain.deploy_token.
pragma solidity ^0.8.20;

contract MinimalERC20 {
    string public constant name = "Test pUSD";
    string public constant symbol = "tPUSD";
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint256 supply) {
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }
}
