-- Lets a single statement undo itself. Placing an order is one data-modifying statement (see
-- services/order/data/orders.ts): when it finds it must not commit - a line out of stock, or the
-- Idempotency-Key taken by a concurrent request - it calls surge_abort, the error rolls the whole
-- statement back, and the caller reads why. One round trip instead of BEGIN ... COMMIT.
CREATE FUNCTION surge_abort(reason text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'surge_abort: %', reason USING ERRCODE = 'SA001';
END
$$;
