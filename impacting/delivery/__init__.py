"""Delivery reporting: flow metrics, forecasts and the leaders' report, from status histories."""
