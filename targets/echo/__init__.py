"""The ``echo`` target: a tiny ping/echo/probe service used to test the platform itself."""
