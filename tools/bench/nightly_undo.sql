-- Undo tools/bench/nightly.sql (the lines go with ON DELETE CASCADE).
DELETE FROM ecpower.orders WHERE order_id >= 900000000000000;
UPDATE ecpower.orders o SET refunded = s.refunded, cancelled_at = s.cancelled_at
  FROM bench.nightly_saved s WHERE s.order_id = o.order_id;
