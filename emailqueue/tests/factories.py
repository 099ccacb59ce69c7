"""OutboundEmail rows in any state, without rendering templates."""

import factory

from emailqueue.models import OutboundEmail
from emailqueue.services import new_message_id


class OutboundEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundEmail

    kind = "test"
    recipient = factory.Sequence(lambda n: f"person{n}@example.test")
    subject = factory.Sequence(lambda n: f"Message {n}")
    body_text = "Hello.\n"
    message_id = factory.LazyFunction(new_message_id)
