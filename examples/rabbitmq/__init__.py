"""RabbitMQ 3.10 (Debian's ``rabbitmq-server``) as a declared target: ``target.yaml`` and an AMQP client."""

from harness.declare import declared_target

Target = declared_target(__file__)
