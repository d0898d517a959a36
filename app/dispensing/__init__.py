"""Dispensing: dose units drawn from a released batch, activity at calibration time, dose labels.

The pure rules live in `app.dispensing.domain`; services, models and pages of this part build on them.
"""
