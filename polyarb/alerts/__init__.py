"""Alert rules (pure, evaluated inside the engine on tick rows) and, separately, notifiers.

The core imports :mod:`polyarb.alerts.rules` only; :mod:`polyarb.alerts.notify` is an
adapter (log file, webhook over HTTP) used by the shadow/live runners at the edge.
"""

from polyarb.alerts.rules import (
    AlertEvaluator,
    AlertEvent,
    AlertRules,
    AlertRulesError,
    HealthSnapshot,
    TickWindow,
    load_alert_rules,
    rules_for_profile,
    tick_health,
)

__all__ = [
    "AlertEvaluator",
    "AlertEvent",
    "AlertRules",
    "AlertRulesError",
    "HealthSnapshot",
    "TickWindow",
    "load_alert_rules",
    "rules_for_profile",
    "tick_health",
]
