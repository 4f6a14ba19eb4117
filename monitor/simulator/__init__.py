"""A built-in Ozon Seller API simulator: real HTTP on loopback, a seeded seller, scripted
incidents and fault injection. Used by `demo`, the end-to-end tests and the benchmarks."""
from monitor.simulator.server import Simulator, SimulatorServer
from monitor.simulator.world import Fault, Incident, Scenario, World, load_scenario

__all__ = ["Fault", "Incident", "Scenario", "Simulator", "SimulatorServer", "World", "load_scenario"]
