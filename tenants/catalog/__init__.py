"""The rewards catalog: rewards members buy with points (physical goods, virtual codes,
coupons), their stock, and redemption orders.

* ``model``: rewards, code pools, redemption orders;
* ``services``: one function per use case (CRUD, code upload, redeem, fulfil, cancel);
* ``api``, ``schemas``: ``/v1/rewards`` and ``/v1/redemption_orders``.
"""
