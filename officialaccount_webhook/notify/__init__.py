"""How the app's signals reach receivers, once the transaction that recorded their event has
committed: in the process that stored it, or through one generic task that a worker runs.

* ``send``: sending a signal robustly, recording ``message_received``'s outcome on the message;
* ``schedule``: the one place that decides, per signal, whether anybody listens, and whether
  to send after the commit or enqueue a task (``SIGNAL_MODE``);
* ``task``: the task a worker runs (imported only in task mode);
* ``framework``: Django 6's ``django.tasks``, or the ``django-tasks`` backport.

The signals themselves are declared in ``officialaccount_webhook.signals``, their public path.
"""
