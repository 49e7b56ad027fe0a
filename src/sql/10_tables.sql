/*
 * Input tables: the store's data and the settings row (README "Loading
 * your data").  Users load these with COPY/INSERT, the Shopify importer
 * or their own sync; a plain INSERT naming only the documented columns
 * always works.
 *
 * Internal additions (nullable or with defaults):
 *   customers.ckey  dense int4 key assigned on insert; the segment engine
 *                   stores membership as compressed bitmaps over these keys.
 */

CREATE TABLE ecpower.settings (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    store_timezone  text NOT NULL DEFAULT 'UTC',
    currency        text NOT NULL DEFAULT 'USD'
);
COMMENT ON TABLE ecpower.settings IS
    'one-row store settings: time zone for every date computation, currency';

/*
 * The settings row exists from CREATE EXTENSION on, so users UPDATE it.  A
 * restore from pg_dump re-inserts the dumped row after CREATE EXTENSION made
 * the default one: the trigger turns such an INSERT into an UPDATE of the one
 * row.  It also rejects an unknown time zone (22023) before it is stored.
 */
CREATE FUNCTION ecpower._settings_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names
                    WHERE name OPERATOR(pg_catalog.=) NEW.store_timezone) THEN
        RAISE EXCEPTION 'store time zone "%" is not recognized', NEW.store_timezone
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a name from pg_timezone_names, such as ''America/New_York''.';
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT'
       AND EXISTS (SELECT 1 FROM ecpower.settings) THEN
        UPDATE ecpower.settings
           SET store_timezone = NEW.store_timezone, currency = NEW.currency;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ecpower._settings_guard() IS
    'keeps ecpower.settings at one valid row (restores update it)';
CREATE TRIGGER settings_guard BEFORE INSERT OR UPDATE ON ecpower.settings
    FOR EACH ROW EXECUTE FUNCTION ecpower._settings_guard();
INSERT INTO ecpower.settings DEFAULT VALUES;

CREATE SEQUENCE ecpower.customer_key_seq AS integer MINVALUE 1 NO CYCLE;
COMMENT ON SEQUENCE ecpower.customer_key_seq IS
    'dense internal customer keys for membership bitmaps';

CREATE TABLE ecpower.customers (
    customer_id         bigint PRIMARY KEY,
    email               text,
    created_at          timestamptz,
    tags                text[] NOT NULL DEFAULT '{}',
    country             text,
    province            text,
    city                text,
    accepts_marketing   boolean NOT NULL DEFAULT false,
    ckey                integer NOT NULL
                        DEFAULT pg_catalog.nextval('ecpower.customer_key_seq'::pg_catalog.regclass)
                        CONSTRAINT customers_ckey_key UNIQUE
);
ALTER SEQUENCE ecpower.customer_key_seq OWNED BY ecpower.customers.ckey;
COMMENT ON TABLE ecpower.customers IS 'the store''s customers (README "Loading your data")';
COMMENT ON COLUMN ecpower.customers.ckey IS
    'internal dense key (assigned on insert; do not set by hand)';

CREATE TABLE ecpower.products (
    product_id      bigint PRIMARY KEY,
    title           text NOT NULL,
    product_type    text,
    vendor          text,
    tags            text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE ecpower.products IS 'the store''s products (README "Loading your data")';

CREATE TABLE ecpower.orders (
    order_id            bigint PRIMARY KEY,
    customer_id         bigint NOT NULL REFERENCES ecpower.customers,
    ordered_at          timestamptz NOT NULL,
    total               numeric(14,2) NOT NULL CHECK (total OPERATOR(pg_catalog.>=) 0),
    refunded            numeric(14,2) NOT NULL DEFAULT 0 CHECK (refunded OPERATOR(pg_catalog.>=) 0),
    discount_codes      text[] NOT NULL DEFAULT '{}',
    tags                text[] NOT NULL DEFAULT '{}',
    sales_channel       text,
    acquisition_channel text,
    referring_site      text,
    landing_site        text,
    utm_source          text,
    utm_medium          text,
    utm_campaign        text,
    is_subscription     boolean NOT NULL DEFAULT false,
    cancelled_at        timestamptz
);
CREATE INDEX orders_customer_id_idx ON ecpower.orders (customer_id);
CREATE INDEX orders_ordered_at_idx ON ecpower.orders (ordered_at);
COMMENT ON TABLE ecpower.orders IS
    'the store''s orders (README "Loading your data"); counted when not cancelled and not after as_of';

CREATE TABLE ecpower.order_lines (
    order_id    bigint NOT NULL REFERENCES ecpower.orders ON DELETE CASCADE,
    line_no     integer NOT NULL,
    product_id  bigint REFERENCES ecpower.products,
    variant_id  bigint,
    sku         text,
    quantity    integer NOT NULL CHECK (quantity OPERATOR(pg_catalog.>) 0),
    price       numeric(14,2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_product_id_idx ON ecpower.order_lines (product_id);
COMMENT ON TABLE ecpower.order_lines IS 'order line items (README "Loading your data")';

-- pg_dump keeps user data of extension tables only when marked
SELECT pg_catalog.pg_extension_config_dump('ecpower.settings', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.customers', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.customer_key_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.products', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.orders', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.order_lines', '');
