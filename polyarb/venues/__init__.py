"""Venue adapters: code that talks to a real exchange (network, keys, signing).

The pure core (engine, execution, ledger, risk, detect) never imports this
package (tests/execution/test_core_imports.py); the live command wires an
adapter in from the outside.
"""
