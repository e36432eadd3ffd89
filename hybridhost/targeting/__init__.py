"""Targeting containers vs VMs by flavor: set it up on a cloud and lint it.

``model`` (pure data and the changes apply makes), ``lint`` (pure findings),
``cloud`` (the openstacksdk adapter) and ``apply`` (check, plan, change, report).
"""
