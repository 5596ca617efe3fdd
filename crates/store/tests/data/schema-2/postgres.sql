--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: audit_log_append_only(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;


--
-- Name: sensor_health_append_only(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.sensor_health_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'sensor health events are append-only';
END;
$$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_tokens (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    role text NOT NULL,
    owner_id uuid,
    name text NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    sensor text
);


--
-- Name: audit_chain_head; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_chain_head (
    singleton integer NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_chain_head_singleton_check CHECK ((singleton = 1))
);


--
-- Name: audit_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log (
    seq bigint NOT NULL,
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    at_micros bigint NOT NULL,
    actor_kind text NOT NULL,
    actor_user uuid,
    actor_token uuid,
    actor_tenant uuid,
    action text NOT NULL,
    record_kind text NOT NULL,
    record_id text NOT NULL,
    before_json text,
    after_json text,
    remote_addr text,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);


--
-- Name: instance; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.instance (
    singleton integer NOT NULL,
    instance_id uuid NOT NULL,
    CONSTRAINT instance_singleton_check CHECK ((singleton = 1))
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version bigint NOT NULL,
    name text NOT NULL,
    applied_at_micros bigint NOT NULL
);


--
-- Name: sensor_fingerprints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensor_fingerprints (
    fingerprint text NOT NULL,
    sensor_id uuid NOT NULL
);


--
-- Name: sensor_health_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensor_health_events (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    sensor_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    since timestamp with time zone NOT NULL,
    seconds bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    CONSTRAINT sensor_health_events_kind_check CHECK ((kind = ANY (ARRAY['silent'::text, 'recovered'::text])))
);


--
-- Name: sensor_networks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensor_networks (
    sensor_id uuid NOT NULL,
    family integer NOT NULL,
    prefix_len integer NOT NULL,
    first_address bytea NOT NULL,
    last_address bytea NOT NULL,
    CONSTRAINT sensor_networks_family_check CHECK ((family = ANY (ARRAY[4, 6])))
);


--
-- Name: sensor_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensor_tokens (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    sensor_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    last_used_from text,
    revoked_at timestamp with time zone
);


--
-- Name: sensors; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sensors (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    expected_formats text NOT NULL,
    expected_interval_secs bigint,
    source_addresses text NOT NULL,
    tls_fingerprints text NOT NULL,
    tls_subject_cn text,
    host_os_type text,
    utc_offset_minutes integer,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    user_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    secret_hash bytea NOT NULL,
    csrf_secret text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    remote_addr text
);


--
-- Name: tenants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tenants (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    parent_id uuid,
    name text NOT NULL,
    kind text NOT NULL,
    sector text,
    critical_infrastructure boolean DEFAULT false NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT tenants_kind_check CHECK ((kind = ANY (ARRAY['national'::text, 'sectoral'::text, 'organisation'::text])))
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid NOT NULL,
    instance_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    username text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    must_change_password boolean DEFAULT false NOT NULL,
    failed_logins integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Data for Name: api_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.api_tokens VALUES ('01a24d60-0fee-734b-8a61-eb920798a1ed', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 'analyst', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', 'siem export', '\x2495729a90eb96381c1461897085026781cd0853652ae8ff75a5e3a41ea94867', '2026-12-06 22:01:10.89402+00', NULL, NULL, NULL, NULL);
INSERT INTO public.api_tokens VALUES ('01a24d60-0ff0-7466-a8a6-0f34c21fc037', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 'constituent_reporter', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', 'old script', '\xabc88b2f5581c5ffd234062346ec987dad7dd0a55778fb4551c90ea7157f0699', '2026-12-06 22:01:10.896925+00', NULL, NULL, '2026-12-06 22:01:10.899342+00', NULL);


--
-- Data for Name: audit_chain_head; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_chain_head VALUES (1, 30, '\xfe47dfcbd707c3328632b4e7fb5d90d2d990faaa9bf779388c3d0994434ae670');


--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_log VALUES (1, '01a24d60-0fb0-74a5-abf6-639d8b70c772', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0faf-707e-9267-5454df094b79', 1796594470831144, 'system', NULL, NULL, NULL, 'tenant.create', 'tenant', '01a24d60-0faf-707e-9267-5454df094b79', NULL, '{"id":"01a24d60-0faf-707e-9267-5454df094b79","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":null,"name":"National CERT","kind":"national","active":true,"created_at":"2026-12-06T22:01:10.831498Z","updated_at":"2026-12-06T22:01:10.831498Z"}', NULL, '\x0000000000000000000000000000000000000000000000000000000000000000', '\x8ca532e7e41515a3d4aea9b5767072edd7d8b532488d78063a4f71137c60b470');
INSERT INTO public.audit_log VALUES (2, '01a24d60-0fb4-75d9-8efa-fab1ee826dfa', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0faf-707e-9267-5454df094b79', 1796594470831144, 'system', NULL, NULL, NULL, 'user.create', 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '{"id":"01a24d60-0fb3-708c-8d5b-4d377ff9286b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0faf-707e-9267-5454df094b79","username":"admin","display_name":"First Administrator","role":"administrator","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.835903Z","updated_at":"2026-12-06T22:01:10.835903Z"}', NULL, '\x8ca532e7e41515a3d4aea9b5767072edd7d8b532488d78063a4f71137c60b470', '\x25008358fa64f9f49c916fed207e29b31d6ca730440f3993e324f7d86fcfd907');
INSERT INTO public.audit_log VALUES (3, '01a24d60-0fbf-7331-a391-f1c076146578', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0faf-707e-9267-5454df094b79', 1796594470837303, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'session.create', 'session', '01a24d60-0fb6-720a-909f-9910e29e1c15', NULL, '{"id":"01a24d60-0fb6-720a-909f-9910e29e1c15","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","user":"01a24d60-0fb3-708c-8d5b-4d377ff9286b","tenant":"01a24d60-0faf-707e-9267-5454df094b79","created_at":"2026-12-06T22:01:10.837303Z","expires_at":"2026-12-06T23:01:10.837303Z","last_seen_at":"2026-12-06T22:01:10.837303Z","revoked_at":null,"remote_addr":"192.0.2.1"}', '192.0.2.1', '\x25008358fa64f9f49c916fed207e29b31d6ca730440f3993e324f7d86fcfd907', '\x25c277ff711381eb7131633ed92c3d86831f975bae448bc5a2966c4c1237b35f');
INSERT INTO public.audit_log VALUES (4, '01a24d60-0fc1-764f-99f4-deeced05f034', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc0-77e1-a455-be81dda909bb', 1796594470848688, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fc0-77e1-a455-be81dda909bb', NULL, '{"id":"01a24d60-0fc0-77e1-a455-be81dda909bb","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0faf-707e-9267-5454df094b79","name":"CERT Telecom","kind":"sectoral","sector":"telecom","active":true,"created_at":"2026-12-06T22:01:10.848682Z","updated_at":"2026-12-06T22:01:10.848682Z"}', '192.0.2.1', '\x25c277ff711381eb7131633ed92c3d86831f975bae448bc5a2966c4c1237b35f', '\xc21a8ec143b21655888abee37f74cdc75d4da6fd025465cef03b86bb264ce5a5');
INSERT INTO public.audit_log VALUES (5, '01a24d60-0fc2-77f4-bdcc-46054fe37548', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc2-77f4-bdcc-4604106304f8', 1796594470850440, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fc2-77f4-bdcc-4604106304f8', NULL, '{"id":"01a24d60-0fc2-77f4-bdcc-4604106304f8","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0faf-707e-9267-5454df094b79","name":"CERT Banking","kind":"sectoral","sector":"banking","active":true,"created_at":"2026-12-06T22:01:10.850435Z","updated_at":"2026-12-06T22:01:10.850435Z"}', '192.0.2.1', '\xc21a8ec143b21655888abee37f74cdc75d4da6fd025465cef03b86bb264ce5a5', '\x077d0761df136b187ab9ca38f4c829aa0444c3fae3be909d6b8e4733d69110dc');
INSERT INTO public.audit_log VALUES (6, '01a24d60-0fc5-7374-a15a-9b45320c2317', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470852777, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', NULL, '{"id":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc0-77e1-a455-be81dda909bb","name":"Mobile Operator","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T22:01:10.852772Z","updated_at":"2026-12-06T22:01:10.852772Z"}', '192.0.2.1', '\x077d0761df136b187ab9ca38f4c829aa0444c3fae3be909d6b8e4733d69110dc', '\xd3c12b7a4abd42de7f6305af35754a788bdc0727c1e1219ffb6a84fea6add66b');
INSERT INTO public.audit_log VALUES (7, '01a24d60-0fc7-71da-8041-abfaf4f65683', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc7-71da-8041-abf95022e819', 1796594470855347, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fc7-71da-8041-abf95022e819', NULL, '{"id":"01a24d60-0fc7-71da-8041-abf95022e819","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","name":"Mobile Operator NOC","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T22:01:10.855341Z","updated_at":"2026-12-06T22:01:10.855341Z"}', '192.0.2.1', '\xd3c12b7a4abd42de7f6305af35754a788bdc0727c1e1219ffb6a84fea6add66b', '\x0a212142ccc0e0fdcee9d4b43de46330ea9d0eef4362062dd1d33ee84de8b2ae');
INSERT INTO public.audit_log VALUES (8, '01a24d60-0fca-726d-b26f-3e5447f0e1c8', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470857661, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', NULL, '{"id":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc2-77f4-bdcc-4604106304f8","name":"First Bank","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T22:01:10.857656Z","updated_at":"2026-12-06T22:01:10.857656Z"}', '192.0.2.1', '\x0a212142ccc0e0fdcee9d4b43de46330ea9d0eef4362062dd1d33ee84de8b2ae', '\x00a08d56027a6e416f4a1e6127bb094fffae508ff922a35d9619796037ae753a');
INSERT INTO public.audit_log VALUES (9, '01a24d60-0fcc-706c-b5f3-f71fdcda5e44', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fcc-706c-b5f3-f71eae25ba69', 1796594470860043, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fcc-706c-b5f3-f71eae25ba69', NULL, '{"id":"01a24d60-0fcc-706c-b5f3-f71eae25ba69","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc2-77f4-bdcc-4604106304f8","name":"Card Processor","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T22:01:10.860038Z","updated_at":"2026-12-06T22:01:10.860038Z"}', '192.0.2.1', '\x00a08d56027a6e416f4a1e6127bb094fffae508ff922a35d9619796037ae753a', '\xf60d499fd3ad317967bb90834c6e71803fa4045088a74c3ddcf1b2fb0559be1c');
INSERT INTO public.audit_log VALUES (10, '01a24d60-0fcf-707f-8d60-e5bde996ecc4', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fce-72a9-9347-209d66f9b88e', 1796594470862488, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.create', 'tenant', '01a24d60-0fce-72a9-9347-209d66f9b88e', NULL, '{"id":"01a24d60-0fce-72a9-9347-209d66f9b88e","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc0-77e1-a455-be81dda909bb","name":"Closed ISP","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T22:01:10.862482Z","updated_at":"2026-12-06T22:01:10.862482Z"}', '192.0.2.1', '\xf60d499fd3ad317967bb90834c6e71803fa4045088a74c3ddcf1b2fb0559be1c', '\x071464b76226ed5846561fc5958bdd790e2ff3936ca7b8c74330bfa5bbbbc4e9');
INSERT INTO public.audit_log VALUES (11, '01a24d60-0fd1-70e9-825c-5e38df7fc4e2', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470864498, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.rename', 'tenant', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', '{"id":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc2-77f4-bdcc-4604106304f8","name":"First Bank","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T22:01:10.857656Z","updated_at":"2026-12-06T22:01:10.857656Z"}', '{"id":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc2-77f4-bdcc-4604106304f8","name":"First National Bank","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T22:01:10.857656Z","updated_at":"2026-12-06T22:01:10.864498Z"}', '192.0.2.1', '\x071464b76226ed5846561fc5958bdd790e2ff3936ca7b8c74330bfa5bbbbc4e9', '\x7c274157540730133baf80761c3b0c56186383f3856a93fde98af57b941bb923');
INSERT INTO public.audit_log VALUES (12, '01a24d60-0fd5-753b-8c9b-4d82f488fed9', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fcc-706c-b5f3-f71eae25ba69', 1796594470868360, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.move', 'tenant', '01a24d60-0fcc-706c-b5f3-f71eae25ba69', '{"id":"01a24d60-0fcc-706c-b5f3-f71eae25ba69","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc2-77f4-bdcc-4604106304f8","name":"Card Processor","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T22:01:10.860038Z","updated_at":"2026-12-06T22:01:10.860038Z"}', '{"id":"01a24d60-0fcc-706c-b5f3-f71eae25ba69","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","name":"Card Processor","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T22:01:10.860038Z","updated_at":"2026-12-06T22:01:10.86836Z"}', '192.0.2.1', '\x7c274157540730133baf80761c3b0c56186383f3856a93fde98af57b941bb923', '\x4f9e7e6c8eb0020ae90591b86092adf343b764996deb308290ea115bc61024bb');
INSERT INTO public.audit_log VALUES (13, '01a24d60-0fd7-77ac-8892-605d7d36a10f', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fce-72a9-9347-209d66f9b88e', 1796594470870918, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'tenant.deactivate', 'tenant', '01a24d60-0fce-72a9-9347-209d66f9b88e', '{"id":"01a24d60-0fce-72a9-9347-209d66f9b88e","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc0-77e1-a455-be81dda909bb","name":"Closed ISP","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T22:01:10.862482Z","updated_at":"2026-12-06T22:01:10.862482Z"}', '{"id":"01a24d60-0fce-72a9-9347-209d66f9b88e","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","parent":"01a24d60-0fc0-77e1-a455-be81dda909bb","name":"Closed ISP","kind":"organisation","critical_infrastructure":false,"active":false,"created_at":"2026-12-06T22:01:10.862482Z","updated_at":"2026-12-06T22:01:10.870918Z"}', '192.0.2.1', '\x4f9e7e6c8eb0020ae90591b86092adf343b764996deb308290ea115bc61024bb', '\xff4d527eb405db9f8edb8391607b9e20bba4aecf749186076b4fabd4b5e1e21b');
INSERT INTO public.audit_log VALUES (14, '01a24d60-0fda-76d4-b651-20b112d81c63', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470873952, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'user.create', 'user', '01a24d60-0fd9-736e-bc2a-91c303fab876', NULL, '{"id":"01a24d60-0fd9-736e-bc2a-91c303fab876","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","username":"noc-analyst","display_name":"noc-analyst","role":"analyst","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.873948Z","updated_at":"2026-12-06T22:01:10.873948Z"}', '192.0.2.1', '\xff4d527eb405db9f8edb8391607b9e20bba4aecf749186076b4fabd4b5e1e21b', '\x1b8e799f5173289bc3e76c928156de6741e39bd43adbf81bf845d831dda198b6');
INSERT INTO public.audit_log VALUES (15, '01a24d60-0fdd-75d5-ba6c-43967eeac25e', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc0-77e1-a455-be81dda909bb', 1796594470876635, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'user.create', 'user', '01a24d60-0fdc-707c-afd6-e32280eb697b', NULL, '{"id":"01a24d60-0fdc-707c-afd6-e32280eb697b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc0-77e1-a455-be81dda909bb","username":"sector-auditor","display_name":"sector-auditor","role":"auditor","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.876631Z","updated_at":"2026-12-06T22:01:10.876631Z"}', '192.0.2.1', '\x1b8e799f5173289bc3e76c928156de6741e39bd43adbf81bf845d831dda198b6', '\x71adb5c47ad4cb5f88d19df1504f47763e4a455ae7fc39124a822e16e16f3eb5');
INSERT INTO public.audit_log VALUES (16, '01a24d60-0fe0-708a-9ff0-1ad79e733e80', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470879447, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'user.create', 'user', '01a24d60-0fdf-738d-be04-4e6b65cab09e', NULL, '{"id":"01a24d60-0fdf-738d-be04-4e6b65cab09e","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","username":"bank-reporter","display_name":"bank-reporter","role":"constituent_reporter","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.879443Z","updated_at":"2026-12-06T22:01:10.879443Z"}', '192.0.2.1', '\x71adb5c47ad4cb5f88d19df1504f47763e4a455ae7fc39124a822e16e16f3eb5', '\xc688b0ae360c6416ba7c8e23a258b68a10a3c8f576198f9267e153ab61df7291');
INSERT INTO public.audit_log VALUES (17, '01a24d60-0fe3-75e6-b810-80177f670a1e', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc7-71da-8041-abf95022e819', 1796594470882767, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'user.create', 'user', '01a24d60-0fe2-73c0-9920-76688e4bc0e1', NULL, '{"id":"01a24d60-0fe2-73c0-9920-76688e4bc0e1","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc7-71da-8041-abf95022e819","username":"noc-responder","display_name":"noc-responder","role":"responder","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.882763Z","updated_at":"2026-12-06T22:01:10.882763Z"}', '192.0.2.1', '\xc688b0ae360c6416ba7c8e23a258b68a10a3c8f576198f9267e153ab61df7291', '\x42887aec7342ae3fa79e3ad31c6b9c974606226f6c2e23788c76d32dbef08cc2');
INSERT INTO public.audit_log VALUES (18, '01a24d60-0fe6-71fb-b041-14509cb4e947', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc2-77f4-bdcc-4604106304f8', 1796594470885542, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'user.create', 'user', '01a24d60-0fe5-709a-8b0c-a982a12e08d5', NULL, '{"id":"01a24d60-0fe5-709a-8b0c-a982a12e08d5","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc2-77f4-bdcc-4604106304f8","username":"left-the-cert","display_name":"left-the-cert","role":"analyst","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.885538Z","updated_at":"2026-12-06T22:01:10.885538Z"}', '192.0.2.1', '\x42887aec7342ae3fa79e3ad31c6b9c974606226f6c2e23788c76d32dbef08cc2', '\x0ae660cd48c67ad89fd522ddc61872f0edae164af45cd15a34f7f90dbd2d0bcf');
INSERT INTO public.audit_log VALUES (19, '01a24d60-0fe8-72e9-891f-d564308d5e0d', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc2-77f4-bdcc-4604106304f8', 1796594470887844, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'user.deactivate', 'user', '01a24d60-0fe5-709a-8b0c-a982a12e08d5', '{"id":"01a24d60-0fe5-709a-8b0c-a982a12e08d5","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc2-77f4-bdcc-4604106304f8","username":"left-the-cert","display_name":"left-the-cert","role":"analyst","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.885538Z","updated_at":"2026-12-06T22:01:10.885538Z"}', '{"id":"01a24d60-0fe5-709a-8b0c-a982a12e08d5","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc2-77f4-bdcc-4604106304f8","username":"left-the-cert","display_name":"left-the-cert","role":"analyst","active":false,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.885538Z","updated_at":"2026-12-06T22:01:10.887844Z"}', '192.0.2.1', '\x0ae660cd48c67ad89fd522ddc61872f0edae164af45cd15a34f7f90dbd2d0bcf', '\xfeb17d5cb3484adbb0e350ecd077aacff9cd28fd6f01d3aeb79a7e7ecb5fcf33');
INSERT INTO public.audit_log VALUES (20, '01a24d60-0fe9-73a6-ab7a-aa88b5cafa51', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470888997, 'anonymous', '01a24d60-0fdf-738d-be04-4e6b65cab09e', NULL, '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 'user.login_failed', 'user', '01a24d60-0fdf-738d-be04-4e6b65cab09e', '{"id":"01a24d60-0fdf-738d-be04-4e6b65cab09e","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","username":"bank-reporter","display_name":"bank-reporter","role":"constituent_reporter","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T22:01:10.879443Z","updated_at":"2026-12-06T22:01:10.879443Z"}', '{"id":"01a24d60-0fdf-738d-be04-4e6b65cab09e","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","username":"bank-reporter","display_name":"bank-reporter","role":"constituent_reporter","active":true,"must_change_password":false,"failed_logins":1,"locked_until":null,"created_at":"2026-12-06T22:01:10.879443Z","updated_at":"2026-12-06T22:01:10.879443Z"}', '198.51.100.7', '\xfeb17d5cb3484adbb0e350ecd077aacff9cd28fd6f01d3aeb79a7e7ecb5fcf33', '\x70f6d66891e9d1c66af5a44dfd6e617460983f14df11862a0dd2d3a1f09fc69d');
INSERT INTO public.audit_log VALUES (21, '01a24d60-0feb-73e9-bf1c-44afdbb8a997', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470890262, 'user', '01a24d60-0fd9-736e-bc2a-91c303fab876', NULL, '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 'session.create', 'session', '01a24d60-0feb-73e9-bf1c-44ae6e3511c5', NULL, '{"id":"01a24d60-0feb-73e9-bf1c-44ae6e3511c5","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","user":"01a24d60-0fd9-736e-bc2a-91c303fab876","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","created_at":"2026-12-06T22:01:10.890262Z","expires_at":"2026-12-06T23:01:10.890262Z","last_seen_at":"2026-12-06T22:01:10.890262Z","revoked_at":null,"remote_addr":"198.51.100.8"}', '198.51.100.8', '\x70f6d66891e9d1c66af5a44dfd6e617460983f14df11862a0dd2d3a1f09fc69d', '\x951096849f246f33e306a9832d491feaf9d2d8ecc282c07693d9d801609a0aa6');
INSERT INTO public.audit_log VALUES (22, '01a24d60-0fef-7675-93e9-e81946589fb5', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470894037, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'token.create', 'token', '01a24d60-0fee-734b-8a61-eb920798a1ed', NULL, '{"id":"01a24d60-0fee-734b-8a61-eb920798a1ed","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","role":"analyst","owner":"01a24d60-0fb3-708c-8d5b-4d377ff9286b","name":"siem export","created_at":"2026-12-06T22:01:10.89402Z","expires_at":null,"last_used_at":null,"revoked_at":null,"sensor":null}', '192.0.2.1', '\x951096849f246f33e306a9832d491feaf9d2d8ecc282c07693d9d801609a0aa6', '\x7edba52425f3c2b8d960dd0e0f0cf8d358254924b83b4d421dd10aeb03ab83bb');
INSERT INTO public.audit_log VALUES (23, '01a24d60-0ff1-716e-b64a-086f6e414349', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470896941, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'token.create', 'token', '01a24d60-0ff0-7466-a8a6-0f34c21fc037', NULL, '{"id":"01a24d60-0ff0-7466-a8a6-0f34c21fc037","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","role":"constituent_reporter","owner":"01a24d60-0fb3-708c-8d5b-4d377ff9286b","name":"old script","created_at":"2026-12-06T22:01:10.896925Z","expires_at":null,"last_used_at":null,"revoked_at":null,"sensor":null}', '192.0.2.1', '\x7edba52425f3c2b8d960dd0e0f0cf8d358254924b83b4d421dd10aeb03ab83bb', '\x441f8db0fed1092e924ac6389271569673ac9ce70c64f757b75386e31c3744d7');
INSERT INTO public.audit_log VALUES (24, '01a24d60-0ff3-7702-b512-541a7e8108d9', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470899342, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'token.revoke', 'token', '01a24d60-0ff0-7466-a8a6-0f34c21fc037', '{"id":"01a24d60-0ff0-7466-a8a6-0f34c21fc037","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","role":"constituent_reporter","owner":"01a24d60-0fb3-708c-8d5b-4d377ff9286b","name":"old script","created_at":"2026-12-06T22:01:10.896925Z","expires_at":null,"last_used_at":null,"revoked_at":null,"sensor":null}', '{"id":"01a24d60-0ff0-7466-a8a6-0f34c21fc037","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","role":"constituent_reporter","owner":"01a24d60-0fb3-708c-8d5b-4d377ff9286b","name":"old script","created_at":"2026-12-06T22:01:10.896925Z","expires_at":null,"last_used_at":null,"revoked_at":"2026-12-06T22:01:10.899342Z","sensor":null}', '192.0.2.1', '\x441f8db0fed1092e924ac6389271569673ac9ce70c64f757b75386e31c3744d7', '\xfcad6fc498ba93f09f4cab2ef642434527a06622ed36ee9c58a48a067873a3d3');
INSERT INTO public.audit_log VALUES (25, '01a24d60-0ff9-7504-a143-cf62b33dc06b', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470902017, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'sensor.register', 'sensor', '01a24d60-0ff5-74d6-bca7-3e644471b76c', NULL, '{"active":true,"created_at":"2026-12-06T22:01:10.901995Z","expected_formats":["syslog"],"expected_interval":300,"host_os_type":null,"id":"01a24d60-0ff5-74d6-bca7-3e644471b76c","ingest_token":{"created_at":"2026-12-06T22:01:10.901995Z","expires_at":null,"id":"01a24d60-0ff6-7761-b44c-2bf5fbe28986","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-0ff5-74d6-bca7-3e644471b76c","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27"},"instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","kind":"firewall","name":"edge firewall","source_addresses":["198.51.100.0/24"],"tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","tls_client_fingerprints":["a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"],"tls_subject_cn":"fw.operator.example","updated_at":"2026-12-06T22:01:10.901995Z","utc_offset":null}', '192.0.2.1', '\xfcad6fc498ba93f09f4cab2ef642434527a06622ed36ee9c58a48a067873a3d3', '\x187ffd6491adf4f15ba05d2e5890a1fd240644be5093e8464e298e92b08fa71c');
INSERT INTO public.audit_log VALUES (26, '01a24d60-0ffc-71fb-958a-d8328b1aae04', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470907495, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'sensor.rotate_token', 'sensor', '01a24d60-0ff5-74d6-bca7-3e644471b76c', '{"previous_tokens":[{"created_at":"2026-12-06T22:01:10.901995Z","expires_at":null,"id":"01a24d60-0ff6-7761-b44c-2bf5fbe28986","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-0ff5-74d6-bca7-3e644471b76c","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27"}]}', '{"new_token":{"created_at":"2026-12-06T22:01:10.907495Z","expires_at":null,"id":"01a24d60-0ffb-7675-b460-a48f691aec82","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-0ff5-74d6-bca7-3e644471b76c","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27"},"previous_tokens":[{"created_at":"2026-12-06T22:01:10.901995Z","expires_at":"2026-12-06T23:01:10.907495Z","id":"01a24d60-0ff6-7761-b44c-2bf5fbe28986","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-0ff5-74d6-bca7-3e644471b76c","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27"}]}', '192.0.2.1', '\x187ffd6491adf4f15ba05d2e5890a1fd240644be5093e8464e298e92b08fa71c', '\x6dfd99262944e19b55e94dc9a9c3029f169d0f48f9cd7f642fe4edf6f22477fd');
INSERT INTO public.audit_log VALUES (27, '01a24d60-0fff-7581-8857-4e68efc18fa9', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 1796594470910587, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'sensor.revoke_token', 'sensor_token', '01a24d60-0ff6-7761-b44c-2bf5fbe28986', '{"id":"01a24d60-0ff6-7761-b44c-2bf5fbe28986","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","sensor":"01a24d60-0ff5-74d6-bca7-3e644471b76c","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","created_at":"2026-12-06T22:01:10.901995Z","expires_at":"2026-12-06T23:01:10.907495Z","last_used_at":null,"last_used_from":null,"revoked_at":null}', '{"id":"01a24d60-0ff6-7761-b44c-2bf5fbe28986","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","sensor":"01a24d60-0ff5-74d6-bca7-3e644471b76c","tenant":"01a24d60-0fc4-7366-b87f-8e3d0448fc27","created_at":"2026-12-06T22:01:10.901995Z","expires_at":"2026-12-06T23:01:10.907495Z","last_used_at":null,"last_used_from":null,"revoked_at":"2026-12-06T22:01:10.910587Z"}', '192.0.2.1', '\x6dfd99262944e19b55e94dc9a9c3029f169d0f48f9cd7f642fe4edf6f22477fd', '\xa8f6835c36f367638a8ec5b3cc49929bf7ca16c3f65b473ba3ce80742ba1d84b');
INSERT INTO public.audit_log VALUES (28, '01a24d60-1004-74dc-aa72-fcf1a98bfea5', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470914489, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'sensor.register', 'sensor', '01a24d60-1002-7779-bee2-84c2048ea8ed', NULL, '{"active":true,"created_at":"2026-12-06T22:01:10.914454Z","expected_formats":["syslog"],"expected_interval":300,"host_os_type":null,"id":"01a24d60-1002-7779-bee2-84c2048ea8ed","ingest_token":{"created_at":"2026-12-06T22:01:10.914454Z","expires_at":null,"id":"01a24d60-1002-7779-bee2-84c34e94c56b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-1002-7779-bee2-84c2048ea8ed","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06"},"instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","kind":"firewall","name":"branch ids","source_addresses":["203.0.113.64/26"],"tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","tls_client_fingerprints":[],"tls_subject_cn":null,"updated_at":"2026-12-06T22:01:10.914454Z","utc_offset":null}', '192.0.2.1', '\xa8f6835c36f367638a8ec5b3cc49929bf7ca16c3f65b473ba3ce80742ba1d84b', '\x89f25e45616c2a02111c9bbaeba61c4ec3bdfda46f4e27bccfd67d283fc4e770');
INSERT INTO public.audit_log VALUES (29, '01a24d60-1006-739d-a3e3-b7fe32ce26b8', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470917842, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'sensor.rotate_token', 'sensor', '01a24d60-1002-7779-bee2-84c2048ea8ed', '{"previous_tokens":[{"created_at":"2026-12-06T22:01:10.914454Z","expires_at":null,"id":"01a24d60-1002-7779-bee2-84c34e94c56b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-1002-7779-bee2-84c2048ea8ed","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06"}]}', '{"new_token":{"created_at":"2026-12-06T22:01:10.917842Z","expires_at":null,"id":"01a24d60-1005-73ee-835c-6c30359d34bc","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-1002-7779-bee2-84c2048ea8ed","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06"},"previous_tokens":[{"created_at":"2026-12-06T22:01:10.914454Z","expires_at":"2026-12-06T23:01:10.917842Z","id":"01a24d60-1002-7779-bee2-84c34e94c56b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","last_used_at":null,"last_used_from":null,"revoked_at":null,"sensor":"01a24d60-1002-7779-bee2-84c2048ea8ed","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06"}]}', '192.0.2.1', '\x89f25e45616c2a02111c9bbaeba61c4ec3bdfda46f4e27bccfd67d283fc4e770', '\x28b4f88a1558e7bda4cf2e70313ed12ce941a07cae24828443a14b0a37b144ab');
INSERT INTO public.audit_log VALUES (30, '01a24d60-1009-7713-8b4c-9bca0f0d8ab2', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 1796594470920746, 'user', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', NULL, '01a24d60-0faf-707e-9267-5454df094b79', 'sensor.revoke_token', 'sensor_token', '01a24d60-1002-7779-bee2-84c34e94c56b', '{"id":"01a24d60-1002-7779-bee2-84c34e94c56b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","sensor":"01a24d60-1002-7779-bee2-84c2048ea8ed","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","created_at":"2026-12-06T22:01:10.914454Z","expires_at":"2026-12-06T23:01:10.917842Z","last_used_at":null,"last_used_from":null,"revoked_at":null}', '{"id":"01a24d60-1002-7779-bee2-84c34e94c56b","instance":"01a24d60-0fae-7200-a6c5-92269ab698ac","sensor":"01a24d60-1002-7779-bee2-84c2048ea8ed","tenant":"01a24d60-0fc9-74c6-9e50-69a38cdf2f06","created_at":"2026-12-06T22:01:10.914454Z","expires_at":"2026-12-06T23:01:10.917842Z","last_used_at":null,"last_used_from":null,"revoked_at":"2026-12-06T22:01:10.920746Z"}', '192.0.2.1', '\x28b4f88a1558e7bda4cf2e70313ed12ce941a07cae24828443a14b0a37b144ab', '\xfe47dfcbd707c3328632b4e7fb5d90d2d990faaa9bf779388c3d0994434ae670');


--
-- Data for Name: instance; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.instance VALUES (1, '01a24d60-0fae-7200-a6c5-92269ab698ac');


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_migrations VALUES (1, 'initial', 1796594470786224);
INSERT INTO public.schema_migrations VALUES (2, 'sensors', 1796594470810421);


--
-- Data for Name: sensor_fingerprints; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sensor_fingerprints VALUES ('a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', '01a24d60-0ff5-74d6-bca7-3e644471b76c');


--
-- Data for Name: sensor_health_events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sensor_health_events VALUES ('01a24d60-0fff-7581-8857-4e695bd00e70', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0ff5-74d6-bca7-3e644471b76c', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 'silent', '2026-12-06 22:01:10.911486+00', 300, '2026-12-06 22:01:10.911486+00');
INSERT INTO public.sensor_health_events VALUES ('01a24d60-1009-7713-8b4c-9bcb9f74e616', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-1002-7779-bee2-84c2048ea8ed', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 'silent', '2026-12-06 22:01:10.921666+00', 300, '2026-12-06 22:01:10.921666+00');


--
-- Data for Name: sensor_networks; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sensor_networks VALUES ('01a24d60-0ff5-74d6-bca7-3e644471b76c', 4, 24, '\xc6336400', '\xc63364ff');
INSERT INTO public.sensor_networks VALUES ('01a24d60-1002-7779-bee2-84c2048ea8ed', 4, 26, '\xcb007140', '\xcb00717f');


--
-- Data for Name: sensor_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sensor_tokens VALUES ('01a24d60-0ffb-7675-b460-a48f691aec82', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0ff5-74d6-bca7-3e644471b76c', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', '\x5f3ecac3f5b693aa23b280798448ebfe4d93e07f5aedf0c40143c213deff7685', '2026-12-06 22:01:10.907495+00', NULL, NULL, NULL, NULL);
INSERT INTO public.sensor_tokens VALUES ('01a24d60-0ff6-7761-b44c-2bf5fbe28986', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0ff5-74d6-bca7-3e644471b76c', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', '\x99331c35b9875bff38927ae1974cf940fe56186b7ce72e9c86d9460f886d7e80', '2026-12-06 22:01:10.901995+00', '2026-12-06 23:01:10.907495+00', NULL, NULL, '2026-12-06 22:01:10.910587+00');
INSERT INTO public.sensor_tokens VALUES ('01a24d60-1005-73ee-835c-6c30359d34bc', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-1002-7779-bee2-84c2048ea8ed', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', '\xd2a5944a7cc94f19a7fac74a1b0a70d40da866b6685314d9a29c94113873dbb3', '2026-12-06 22:01:10.917842+00', NULL, NULL, NULL, NULL);
INSERT INTO public.sensor_tokens VALUES ('01a24d60-1002-7779-bee2-84c34e94c56b', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-1002-7779-bee2-84c2048ea8ed', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', '\x1cbfc6c5848cd206fbc28613a602d54a9aa1e5e0e4b446e8ed6a8c6d9acc6087', '2026-12-06 22:01:10.914454+00', '2026-12-06 23:01:10.917842+00', NULL, NULL, '2026-12-06 22:01:10.920746+00');


--
-- Data for Name: sensors; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sensors VALUES ('01a24d60-0ff5-74d6-bca7-3e644471b76c', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 'edge firewall', 'firewall', '["syslog"]', 300, '["198.51.100.0/24"]', '["a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"]', 'fw.operator.example', NULL, NULL, true, '2026-12-06 22:01:10.901995+00', '2026-12-06 22:01:10.901995+00');
INSERT INTO public.sensors VALUES ('01a24d60-1002-7779-bee2-84c2048ea8ed', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 'branch ids', 'firewall', '["syslog"]', 300, '["203.0.113.64/26"]', '[]', NULL, NULL, NULL, true, '2026-12-06 22:01:10.914454+00', '2026-12-06 22:01:10.914454+00');


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sessions VALUES ('01a24d60-0fb6-720a-909f-9910e29e1c15', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fb3-708c-8d5b-4d377ff9286b', '01a24d60-0faf-707e-9267-5454df094b79', '\x9743e3158aa036a3adee03640b23b7f2ef57393e774fc34e5799800aca7aef72', '3RoCey0dkZhoSmysl3QWHfRh51zfcwSTDMT_wKeeU5Y', '2026-12-06 22:01:10.837303+00', '2026-12-06 23:01:10.837303+00', '2026-12-06 22:01:10.837303+00', NULL, '192.0.2.1');
INSERT INTO public.sessions VALUES ('01a24d60-0feb-73e9-bf1c-44ae6e3511c5', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fd9-736e-bc2a-91c303fab876', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', '\x1bdb736076d25766c88b62d642d938c077c795764af55eeba960420c602c6e0b', 'sB6J5mr65VBzls14XqnfUnZNf8skK6pcSUvBU7UezM0', '2026-12-06 22:01:10.890262+00', '2026-12-06 23:01:10.890262+00', '2026-12-06 22:01:10.890262+00', NULL, '198.51.100.8');


--
-- Data for Name: tenants; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tenants VALUES ('01a24d60-0faf-707e-9267-5454df094b79', '01a24d60-0fae-7200-a6c5-92269ab698ac', NULL, 'National CERT', 'national', NULL, false, true, '2026-12-06 22:01:10.831498+00', '2026-12-06 22:01:10.831498+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fc0-77e1-a455-be81dda909bb', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0faf-707e-9267-5454df094b79', 'CERT Telecom', 'sectoral', 'telecom', false, true, '2026-12-06 22:01:10.848682+00', '2026-12-06 22:01:10.848682+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fc2-77f4-bdcc-4604106304f8', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0faf-707e-9267-5454df094b79', 'CERT Banking', 'sectoral', 'banking', false, true, '2026-12-06 22:01:10.850435+00', '2026-12-06 22:01:10.850435+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fc4-7366-b87f-8e3d0448fc27', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc0-77e1-a455-be81dda909bb', 'Mobile Operator', 'organisation', NULL, true, true, '2026-12-06 22:01:10.852772+00', '2026-12-06 22:01:10.852772+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fc7-71da-8041-abf95022e819', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 'Mobile Operator NOC', 'organisation', NULL, false, true, '2026-12-06 22:01:10.855341+00', '2026-12-06 22:01:10.855341+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fc9-74c6-9e50-69a38cdf2f06', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc2-77f4-bdcc-4604106304f8', 'First National Bank', 'organisation', NULL, false, true, '2026-12-06 22:01:10.857656+00', '2026-12-06 22:01:10.864498+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fcc-706c-b5f3-f71eae25ba69', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 'Card Processor', 'organisation', NULL, true, true, '2026-12-06 22:01:10.860038+00', '2026-12-06 22:01:10.86836+00');
INSERT INTO public.tenants VALUES ('01a24d60-0fce-72a9-9347-209d66f9b88e', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc0-77e1-a455-be81dda909bb', 'Closed ISP', 'organisation', NULL, false, false, '2026-12-06 22:01:10.862482+00', '2026-12-06 22:01:10.870918+00');


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('01a24d60-0fb3-708c-8d5b-4d377ff9286b', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0faf-707e-9267-5454df094b79', 'admin', 'First Administrator', 'administrator', '$argon2id$v=19$m=8,t=1,p=1$o14zU9POVMsboSjvbd5f2Q$36UZBa+P3+heWUNAKc8RXron0dskf6MLgehmhpO1noQ', true, false, 0, NULL, '2026-12-06 22:01:10.835903+00', '2026-12-06 22:01:10.835903+00');
INSERT INTO public.users VALUES ('01a24d60-0fd9-736e-bc2a-91c303fab876', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc4-7366-b87f-8e3d0448fc27', 'noc-analyst', 'noc-analyst', 'analyst', '$argon2id$v=19$m=8,t=1,p=1$icqCA5Y2viERAGr+JZH4Lg$Km8v4K4dWGhpYWi+Q9uUzwwboGxcQ8EokpSbgB1RNAs', true, false, 0, NULL, '2026-12-06 22:01:10.873948+00', '2026-12-06 22:01:10.873948+00');
INSERT INTO public.users VALUES ('01a24d60-0fdc-707c-afd6-e32280eb697b', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc0-77e1-a455-be81dda909bb', 'sector-auditor', 'sector-auditor', 'auditor', '$argon2id$v=19$m=8,t=1,p=1$QNMdyR4dzF5ZBC7BBR8+Aw$usklaKPb5EHpn1UDe3OVjLGwIZVPa0YWivYRB+N2qws', true, false, 0, NULL, '2026-12-06 22:01:10.876631+00', '2026-12-06 22:01:10.876631+00');
INSERT INTO public.users VALUES ('01a24d60-0fe2-73c0-9920-76688e4bc0e1', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc7-71da-8041-abf95022e819', 'noc-responder', 'noc-responder', 'responder', '$argon2id$v=19$m=8,t=1,p=1$oNO/sm1ARXq3b4Mczg87vQ$pFmEBU1C6gdg2D53huM2jlxvZ/JEvtdUC2ECrwKepJU', true, false, 0, NULL, '2026-12-06 22:01:10.882763+00', '2026-12-06 22:01:10.882763+00');
INSERT INTO public.users VALUES ('01a24d60-0fe5-709a-8b0c-a982a12e08d5', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc2-77f4-bdcc-4604106304f8', 'left-the-cert', 'left-the-cert', 'analyst', '$argon2id$v=19$m=8,t=1,p=1$tKoUKq02Zz8vQ9qW5HC+5A$LSLPOd3IGBYdEetYlczOuGfGleBNk0AuZgCDIrH0q28', false, false, 0, NULL, '2026-12-06 22:01:10.885538+00', '2026-12-06 22:01:10.887844+00');
INSERT INTO public.users VALUES ('01a24d60-0fdf-738d-be04-4e6b65cab09e', '01a24d60-0fae-7200-a6c5-92269ab698ac', '01a24d60-0fc9-74c6-9e50-69a38cdf2f06', 'bank-reporter', 'bank-reporter', 'constituent_reporter', '$argon2id$v=19$m=8,t=1,p=1$Zw6ug8WbPhz6XAZ/NiXfUg$RRaTyEuHtBNqM9jaBM7+UiHy6kOP3E1kE+P4ICr30+Y', true, false, 1, NULL, '2026-12-06 22:01:10.879443+00', '2026-12-06 22:01:10.879443+00');


--
-- Name: api_tokens api_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);


--
-- Name: api_tokens api_tokens_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_secret_hash_key UNIQUE (secret_hash);


--
-- Name: audit_chain_head audit_chain_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_chain_head
    ADD CONSTRAINT audit_chain_head_pkey PRIMARY KEY (singleton);


--
-- Name: audit_log audit_log_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_id_key UNIQUE (id);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (seq);


--
-- Name: instance instance_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.instance
    ADD CONSTRAINT instance_pkey PRIMARY KEY (singleton);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: sensor_fingerprints sensor_fingerprints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_fingerprints
    ADD CONSTRAINT sensor_fingerprints_pkey PRIMARY KEY (fingerprint);


--
-- Name: sensor_health_events sensor_health_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_health_events
    ADD CONSTRAINT sensor_health_events_pkey PRIMARY KEY (id);


--
-- Name: sensor_networks sensor_networks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_networks
    ADD CONSTRAINT sensor_networks_pkey PRIMARY KEY (family, first_address, prefix_len);


--
-- Name: sensor_tokens sensor_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_tokens
    ADD CONSTRAINT sensor_tokens_pkey PRIMARY KEY (id);


--
-- Name: sensor_tokens sensor_tokens_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_tokens
    ADD CONSTRAINT sensor_tokens_secret_hash_key UNIQUE (secret_hash);


--
-- Name: sensors sensors_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensors
    ADD CONSTRAINT sensors_pkey PRIMARY KEY (id);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);


--
-- Name: sessions sessions_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_secret_hash_key UNIQUE (secret_hash);


--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_username_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_username_key UNIQUE (username);


--
-- Name: api_tokens_by_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX api_tokens_by_tenant ON public.api_tokens USING btree (tenant_id);


--
-- Name: audit_log_by_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_by_tenant ON public.audit_log USING btree (tenant_id, seq);


--
-- Name: sensor_fingerprints_by_sensor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensor_fingerprints_by_sensor ON public.sensor_fingerprints USING btree (sensor_id);


--
-- Name: sensor_health_by_sensor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensor_health_by_sensor ON public.sensor_health_events USING btree (sensor_id, id);


--
-- Name: sensor_health_by_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensor_health_by_tenant ON public.sensor_health_events USING btree (tenant_id, id);


--
-- Name: sensor_networks_by_sensor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensor_networks_by_sensor ON public.sensor_networks USING btree (sensor_id);


--
-- Name: sensor_tokens_by_sensor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensor_tokens_by_sensor ON public.sensor_tokens USING btree (sensor_id);


--
-- Name: sensors_active_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX sensors_active_name ON public.sensors USING btree (tenant_id, name) WHERE active;


--
-- Name: sensors_active_subject_cn; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX sensors_active_subject_cn ON public.sensors USING btree (tls_subject_cn) WHERE (active AND (tls_subject_cn IS NOT NULL));


--
-- Name: sensors_by_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sensors_by_tenant ON public.sensors USING btree (tenant_id, id);


--
-- Name: sessions_by_expiry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_by_expiry ON public.sessions USING btree (expires_at);


--
-- Name: sessions_by_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_by_user ON public.sessions USING btree (user_id);


--
-- Name: tenants_by_parent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tenants_by_parent ON public.tenants USING btree (parent_id);


--
-- Name: tenants_single_root; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX tenants_single_root ON public.tenants USING btree (((parent_id IS NULL))) WHERE (parent_id IS NULL);


--
-- Name: users_by_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_by_tenant ON public.users USING btree (tenant_id);


--
-- Name: audit_log audit_log_no_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_log_no_change BEFORE DELETE OR UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.audit_log_append_only();


--
-- Name: audit_log audit_log_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_append_only();


--
-- Name: sensor_health_events sensor_health_no_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sensor_health_no_change BEFORE DELETE OR UPDATE ON public.sensor_health_events FOR EACH ROW EXECUTE FUNCTION public.sensor_health_append_only();


--
-- Name: sensor_health_events sensor_health_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sensor_health_no_truncate BEFORE TRUNCATE ON public.sensor_health_events FOR EACH STATEMENT EXECUTE FUNCTION public.sensor_health_append_only();


--
-- Name: api_tokens api_tokens_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users(id);


--
-- Name: api_tokens api_tokens_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);


--
-- Name: sensor_fingerprints sensor_fingerprints_sensor_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_fingerprints
    ADD CONSTRAINT sensor_fingerprints_sensor_id_fkey FOREIGN KEY (sensor_id) REFERENCES public.sensors(id);


--
-- Name: sensor_health_events sensor_health_events_sensor_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_health_events
    ADD CONSTRAINT sensor_health_events_sensor_id_fkey FOREIGN KEY (sensor_id) REFERENCES public.sensors(id);


--
-- Name: sensor_health_events sensor_health_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_health_events
    ADD CONSTRAINT sensor_health_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);


--
-- Name: sensor_networks sensor_networks_sensor_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_networks
    ADD CONSTRAINT sensor_networks_sensor_id_fkey FOREIGN KEY (sensor_id) REFERENCES public.sensors(id);


--
-- Name: sensor_tokens sensor_tokens_sensor_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_tokens
    ADD CONSTRAINT sensor_tokens_sensor_id_fkey FOREIGN KEY (sensor_id) REFERENCES public.sensors(id);


--
-- Name: sensor_tokens sensor_tokens_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensor_tokens
    ADD CONSTRAINT sensor_tokens_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);


--
-- Name: sensors sensors_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sensors
    ADD CONSTRAINT sensors_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);


--
-- Name: sessions sessions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);


--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: tenants tenants_parent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.tenants(id);


--
-- Name: users users_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);


--
-- PostgreSQL database dump complete
--


