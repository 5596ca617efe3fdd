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

INSERT INTO public.api_tokens VALUES ('01a24d5a-a54f-74ec-84fb-fa56684fb6a8', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 'analyst', '01a24d5a-a51a-77e7-a730-21613eb5dc42', 'siem export', '\x1851db7a04c647291288b3e9da13a53bc000e274d156902d19454aeb9466f4e6', '2026-12-06 21:55:15.919935+00', NULL, NULL, NULL, NULL);
INSERT INTO public.api_tokens VALUES ('01a24d5a-a553-7742-8573-960caf04b9fe', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 'constituent_reporter', '01a24d5a-a51a-77e7-a730-21613eb5dc42', 'old script', '\xd371d5aada6982e54f0480cf028475ae543263d609807906b4957f455353fb40', '2026-12-06 21:55:15.923189+00', NULL, NULL, '2026-12-06 21:55:15.925559+00', NULL);


--
-- Data for Name: audit_chain_head; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_chain_head VALUES (1, 24, '\x3c51aa0af798f93dcc3869e3aff1be836c7d54c887c59fbd610971de59480143');


--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_log VALUES (1, '01a24d5a-a518-7135-af3b-49578b3e25b3', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a517-75c6-9b1a-4436fcca2456', 1796594115863037, 'system', NULL, NULL, NULL, 'tenant.create', 'tenant', '01a24d5a-a517-75c6-9b1a-4436fcca2456', NULL, '{"id":"01a24d5a-a517-75c6-9b1a-4436fcca2456","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":null,"name":"National CERT","kind":"national","active":true,"created_at":"2026-12-06T21:55:15.863404Z","updated_at":"2026-12-06T21:55:15.863404Z"}', NULL, '\x0000000000000000000000000000000000000000000000000000000000000000', '\x0636e39cbe8ab4caad83afb89b7fa0aea33bc6592959f623e8ffa011730b451d');
INSERT INTO public.audit_log VALUES (2, '01a24d5a-a51a-77e7-a730-21627e6d5643', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a517-75c6-9b1a-4436fcca2456', 1796594115863037, 'system', NULL, NULL, NULL, 'user.create', 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '{"id":"01a24d5a-a51a-77e7-a730-21613eb5dc42","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a517-75c6-9b1a-4436fcca2456","username":"admin","display_name":"First Administrator","role":"administrator","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.866012Z","updated_at":"2026-12-06T21:55:15.866012Z"}', NULL, '\x0636e39cbe8ab4caad83afb89b7fa0aea33bc6592959f623e8ffa011730b451d', '\xf105cdac4aab93987796dbc379c866643c59484cb97889315a1770af22321a3b');
INSERT INTO public.audit_log VALUES (3, '01a24d5a-a51d-7335-9287-6fadf6565d26', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a517-75c6-9b1a-4436fcca2456', 1796594115867386, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'session.create', 'session', '01a24d5a-a51c-74b0-9c35-06fe9a0f98d1', NULL, '{"id":"01a24d5a-a51c-74b0-9c35-06fe9a0f98d1","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","user":"01a24d5a-a51a-77e7-a730-21613eb5dc42","tenant":"01a24d5a-a517-75c6-9b1a-4436fcca2456","created_at":"2026-12-06T21:55:15.867386Z","expires_at":"2026-12-06T22:55:15.867386Z","last_seen_at":"2026-12-06T21:55:15.867386Z","revoked_at":null,"remote_addr":"192.0.2.1"}', '192.0.2.1', '\xf105cdac4aab93987796dbc379c866643c59484cb97889315a1770af22321a3b', '\xe0084cbce3fa52479b49e9614e502029fa84b8a3ef2f56b9d3dfc781b4c2a353');
INSERT INTO public.audit_log VALUES (4, '01a24d5a-a51f-7399-85ed-bf5586170074', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a51f-7399-85ed-bf54a4e75e47', 1796594115871105, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a51f-7399-85ed-bf54a4e75e47', NULL, '{"id":"01a24d5a-a51f-7399-85ed-bf54a4e75e47","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a517-75c6-9b1a-4436fcca2456","name":"CERT Telecom","kind":"sectoral","sector":"telecom","active":true,"created_at":"2026-12-06T21:55:15.871099Z","updated_at":"2026-12-06T21:55:15.871099Z"}', '192.0.2.1', '\xe0084cbce3fa52479b49e9614e502029fa84b8a3ef2f56b9d3dfc781b4c2a353', '\xa5e27434ead31d6d3b5a28ed87ddf6ad85faeba9d78bc45c77c9ef6515f89417');
INSERT INTO public.audit_log VALUES (5, '01a24d5a-a521-72a7-9127-7d31a4d76cb5', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a520-7437-a107-a98ab66e7713', 1796594115872790, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a520-7437-a107-a98ab66e7713', NULL, '{"id":"01a24d5a-a520-7437-a107-a98ab66e7713","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a517-75c6-9b1a-4436fcca2456","name":"CERT Banking","kind":"sectoral","sector":"banking","active":true,"created_at":"2026-12-06T21:55:15.872785Z","updated_at":"2026-12-06T21:55:15.872785Z"}', '192.0.2.1', '\xa5e27434ead31d6d3b5a28ed87ddf6ad85faeba9d78bc45c77c9ef6515f89417', '\x6b987eb8194408557d43280da2673423f1f780d9e180bef6337ca31e92a0cdfd');
INSERT INTO public.audit_log VALUES (6, '01a24d5a-a524-736b-93c8-4151266eae61', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 1796594115875475, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a523-7468-aba3-6b236ca06967', NULL, '{"id":"01a24d5a-a523-7468-aba3-6b236ca06967","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a51f-7399-85ed-bf54a4e75e47","name":"Mobile Operator","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T21:55:15.87547Z","updated_at":"2026-12-06T21:55:15.87547Z"}', '192.0.2.1', '\x6b987eb8194408557d43280da2673423f1f780d9e180bef6337ca31e92a0cdfd', '\xc47781ca53eda2d68ac060df15bc3cbb3162c439687ba5c56418884445791f30');
INSERT INTO public.audit_log VALUES (7, '01a24d5a-a527-71b0-b3c6-8ccb1814264b', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a526-740c-b8c6-4ba1b3326610', 1796594115878383, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a526-740c-b8c6-4ba1b3326610', NULL, '{"id":"01a24d5a-a526-740c-b8c6-4ba1b3326610","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a523-7468-aba3-6b236ca06967","name":"Mobile Operator NOC","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T21:55:15.878377Z","updated_at":"2026-12-06T21:55:15.878377Z"}', '192.0.2.1', '\xc47781ca53eda2d68ac060df15bc3cbb3162c439687ba5c56418884445791f30', '\x373a0e0ab02e49f8e462dde8489dc2562955d8375af9d53e4b9bff724d7faabf');
INSERT INTO public.audit_log VALUES (8, '01a24d5a-a529-77c6-a83d-5862b2a823bd', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 1796594115881129, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a529-77c6-a83d-5861aa684c8b', NULL, '{"id":"01a24d5a-a529-77c6-a83d-5861aa684c8b","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a520-7437-a107-a98ab66e7713","name":"First Bank","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T21:55:15.881123Z","updated_at":"2026-12-06T21:55:15.881123Z"}', '192.0.2.1', '\x373a0e0ab02e49f8e462dde8489dc2562955d8375af9d53e4b9bff724d7faabf', '\x5aa870af1c97c2198990d45f9b04cbbf96f65cc3e5c5d66864d36e6627d51624');
INSERT INTO public.audit_log VALUES (9, '01a24d5a-a52c-72fd-a9d7-59835dcf19e3', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a52b-7731-9a0d-c041fcc4a122', 1796594115883855, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a52b-7731-9a0d-c041fcc4a122', NULL, '{"id":"01a24d5a-a52b-7731-9a0d-c041fcc4a122","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a520-7437-a107-a98ab66e7713","name":"Card Processor","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T21:55:15.883849Z","updated_at":"2026-12-06T21:55:15.883849Z"}', '192.0.2.1', '\x5aa870af1c97c2198990d45f9b04cbbf96f65cc3e5c5d66864d36e6627d51624', '\x8a3e2abbeffaf61ca16120411df24fed5bc69a52a7ab697ef7a7d3b989e19bbf');
INSERT INTO public.audit_log VALUES (10, '01a24d5a-a52f-7223-8cad-a4fb32faf225', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a52e-70b4-b733-af9911eb2822', 1796594115886662, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.create', 'tenant', '01a24d5a-a52e-70b4-b733-af9911eb2822', NULL, '{"id":"01a24d5a-a52e-70b4-b733-af9911eb2822","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a51f-7399-85ed-bf54a4e75e47","name":"Closed ISP","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T21:55:15.886656Z","updated_at":"2026-12-06T21:55:15.886656Z"}', '192.0.2.1', '\x8a3e2abbeffaf61ca16120411df24fed5bc69a52a7ab697ef7a7d3b989e19bbf', '\x19b0240388fff3e41aa5145b8c18719275ad956e64f54d32dc89b76f6525166e');
INSERT INTO public.audit_log VALUES (11, '01a24d5a-a531-77ba-85ca-5728d93b91d9', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 1796594115888578, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.rename', 'tenant', '01a24d5a-a529-77c6-a83d-5861aa684c8b', '{"id":"01a24d5a-a529-77c6-a83d-5861aa684c8b","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a520-7437-a107-a98ab66e7713","name":"First Bank","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T21:55:15.881123Z","updated_at":"2026-12-06T21:55:15.881123Z"}', '{"id":"01a24d5a-a529-77c6-a83d-5861aa684c8b","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a520-7437-a107-a98ab66e7713","name":"First National Bank","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T21:55:15.881123Z","updated_at":"2026-12-06T21:55:15.888578Z"}', '192.0.2.1', '\x19b0240388fff3e41aa5145b8c18719275ad956e64f54d32dc89b76f6525166e', '\xb60deac9e661a0bd4a4f1d981721d35b5495f791a492443eb4cca7233e511a3e');
INSERT INTO public.audit_log VALUES (12, '01a24d5a-a535-7335-a271-aafeb67baf6e', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a52b-7731-9a0d-c041fcc4a122', 1796594115892565, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.move', 'tenant', '01a24d5a-a52b-7731-9a0d-c041fcc4a122', '{"id":"01a24d5a-a52b-7731-9a0d-c041fcc4a122","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a520-7437-a107-a98ab66e7713","name":"Card Processor","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T21:55:15.883849Z","updated_at":"2026-12-06T21:55:15.883849Z"}', '{"id":"01a24d5a-a52b-7731-9a0d-c041fcc4a122","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a529-77c6-a83d-5861aa684c8b","name":"Card Processor","kind":"organisation","critical_infrastructure":true,"active":true,"created_at":"2026-12-06T21:55:15.883849Z","updated_at":"2026-12-06T21:55:15.892565Z"}', '192.0.2.1', '\xb60deac9e661a0bd4a4f1d981721d35b5495f791a492443eb4cca7233e511a3e', '\x2b449a84954630c09d829ce75c6105d561c44eb8571ede98b7216810ac021845');
INSERT INTO public.audit_log VALUES (13, '01a24d5a-a538-77fe-b415-92cc6946562e', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a52e-70b4-b733-af9911eb2822', 1796594115895456, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'tenant.deactivate', 'tenant', '01a24d5a-a52e-70b4-b733-af9911eb2822', '{"id":"01a24d5a-a52e-70b4-b733-af9911eb2822","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a51f-7399-85ed-bf54a4e75e47","name":"Closed ISP","kind":"organisation","critical_infrastructure":false,"active":true,"created_at":"2026-12-06T21:55:15.886656Z","updated_at":"2026-12-06T21:55:15.886656Z"}', '{"id":"01a24d5a-a52e-70b4-b733-af9911eb2822","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","parent":"01a24d5a-a51f-7399-85ed-bf54a4e75e47","name":"Closed ISP","kind":"organisation","critical_infrastructure":false,"active":false,"created_at":"2026-12-06T21:55:15.886656Z","updated_at":"2026-12-06T21:55:15.895456Z"}', '192.0.2.1', '\x2b449a84954630c09d829ce75c6105d561c44eb8571ede98b7216810ac021845', '\x84dd72ad34a3ba178bcc73529ec5c5cce4fd356a83bc729d4edba9d3ad5bbfa2');
INSERT INTO public.audit_log VALUES (14, '01a24d5a-a53b-7524-9b4d-99d00af01b3a', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 1796594115898481, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'user.create', 'user', '01a24d5a-a53a-750a-868a-3392590f67d9', NULL, '{"id":"01a24d5a-a53a-750a-868a-3392590f67d9","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a523-7468-aba3-6b236ca06967","username":"noc-analyst","display_name":"noc-analyst","role":"analyst","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.898477Z","updated_at":"2026-12-06T21:55:15.898477Z"}', '192.0.2.1', '\x84dd72ad34a3ba178bcc73529ec5c5cce4fd356a83bc729d4edba9d3ad5bbfa2', '\xddf28f90cb98ab73582f27cf6c1818b6e3705d22e3cb5bdaeea8959474d74cd8');
INSERT INTO public.audit_log VALUES (15, '01a24d5a-a53e-77e8-a2eb-89fd23646aa5', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a51f-7399-85ed-bf54a4e75e47', 1796594115901445, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'user.create', 'user', '01a24d5a-a53d-741c-a25c-88c7c1cff330', NULL, '{"id":"01a24d5a-a53d-741c-a25c-88c7c1cff330","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a51f-7399-85ed-bf54a4e75e47","username":"sector-auditor","display_name":"sector-auditor","role":"auditor","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.901441Z","updated_at":"2026-12-06T21:55:15.901441Z"}', '192.0.2.1', '\xddf28f90cb98ab73582f27cf6c1818b6e3705d22e3cb5bdaeea8959474d74cd8', '\xa466ab2a8f86af46fb94c39421ba1e2ef3b40fd47e0cc0002fe167cfe534cbe2');
INSERT INTO public.audit_log VALUES (16, '01a24d5a-a540-76d6-ace3-793ebff9eec9', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 1796594115904279, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'user.create', 'user', '01a24d5a-a540-76d6-ace3-793d0d4939d4', NULL, '{"id":"01a24d5a-a540-76d6-ace3-793d0d4939d4","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a529-77c6-a83d-5861aa684c8b","username":"bank-reporter","display_name":"bank-reporter","role":"constituent_reporter","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.904274Z","updated_at":"2026-12-06T21:55:15.904274Z"}', '192.0.2.1', '\xa466ab2a8f86af46fb94c39421ba1e2ef3b40fd47e0cc0002fe167cfe534cbe2', '\x98071e5beea1e3de79f7abf928e580874c96f1a10f700a12bfa665c3c472bfa4');
INSERT INTO public.audit_log VALUES (17, '01a24d5a-a544-7499-9370-c92ebf6ab73a', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a526-740c-b8c6-4ba1b3326610', 1796594115907360, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'user.create', 'user', '01a24d5a-a543-75c9-bf06-5c6dfd5e7d8d', NULL, '{"id":"01a24d5a-a543-75c9-bf06-5c6dfd5e7d8d","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a526-740c-b8c6-4ba1b3326610","username":"noc-responder","display_name":"noc-responder","role":"responder","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.907356Z","updated_at":"2026-12-06T21:55:15.907356Z"}', '192.0.2.1', '\x98071e5beea1e3de79f7abf928e580874c96f1a10f700a12bfa665c3c472bfa4', '\x8b24df2042910bd94dd90189ff1546f44935ea83dfaa81474aafebcde3a032b3');
INSERT INTO public.audit_log VALUES (18, '01a24d5a-a547-7672-b93e-20fbea9e236a', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a520-7437-a107-a98ab66e7713', 1796594115910492, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'user.create', 'user', '01a24d5a-a546-76cd-afb4-d40d169bf84d', NULL, '{"id":"01a24d5a-a546-76cd-afb4-d40d169bf84d","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a520-7437-a107-a98ab66e7713","username":"left-the-cert","display_name":"left-the-cert","role":"analyst","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.910488Z","updated_at":"2026-12-06T21:55:15.910488Z"}', '192.0.2.1', '\x8b24df2042910bd94dd90189ff1546f44935ea83dfaa81474aafebcde3a032b3', '\x2d846692c1ddf0c6f5024d46be41a49cb9d59acb5cc3c4a45564fa7bf0e5d837');
INSERT INTO public.audit_log VALUES (19, '01a24d5a-a54a-7294-8871-4db32df8956b', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a520-7437-a107-a98ab66e7713', 1796594115913043, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'user.deactivate', 'user', '01a24d5a-a546-76cd-afb4-d40d169bf84d', '{"id":"01a24d5a-a546-76cd-afb4-d40d169bf84d","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a520-7437-a107-a98ab66e7713","username":"left-the-cert","display_name":"left-the-cert","role":"analyst","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.910488Z","updated_at":"2026-12-06T21:55:15.910488Z"}', '{"id":"01a24d5a-a546-76cd-afb4-d40d169bf84d","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a520-7437-a107-a98ab66e7713","username":"left-the-cert","display_name":"left-the-cert","role":"analyst","active":false,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.910488Z","updated_at":"2026-12-06T21:55:15.913043Z"}', '192.0.2.1', '\x2d846692c1ddf0c6f5024d46be41a49cb9d59acb5cc3c4a45564fa7bf0e5d837', '\xc9ff960e86e578c5b4348e9e460d1dfc84aa80d6bbfca1f7c96315bc07cb41f8');
INSERT INTO public.audit_log VALUES (20, '01a24d5a-a54b-71af-8525-4e3a09e47e2d', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 1796594115914649, 'anonymous', '01a24d5a-a540-76d6-ace3-793d0d4939d4', NULL, '01a24d5a-a529-77c6-a83d-5861aa684c8b', 'user.login_failed', 'user', '01a24d5a-a540-76d6-ace3-793d0d4939d4', '{"id":"01a24d5a-a540-76d6-ace3-793d0d4939d4","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a529-77c6-a83d-5861aa684c8b","username":"bank-reporter","display_name":"bank-reporter","role":"constituent_reporter","active":true,"must_change_password":false,"failed_logins":0,"locked_until":null,"created_at":"2026-12-06T21:55:15.904274Z","updated_at":"2026-12-06T21:55:15.904274Z"}', '{"id":"01a24d5a-a540-76d6-ace3-793d0d4939d4","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a529-77c6-a83d-5861aa684c8b","username":"bank-reporter","display_name":"bank-reporter","role":"constituent_reporter","active":true,"must_change_password":false,"failed_logins":1,"locked_until":null,"created_at":"2026-12-06T21:55:15.904274Z","updated_at":"2026-12-06T21:55:15.904274Z"}', '198.51.100.7', '\xc9ff960e86e578c5b4348e9e460d1dfc84aa80d6bbfca1f7c96315bc07cb41f8', '\x4d9ca134ee8aa8485e564417a2eb5e214c5f4e559828d6c88bcd6c638231dce2');
INSERT INTO public.audit_log VALUES (21, '01a24d5a-a54d-77a2-a659-1a01bea8d29b', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 1796594115915886, 'user', '01a24d5a-a53a-750a-868a-3392590f67d9', NULL, '01a24d5a-a523-7468-aba3-6b236ca06967', 'session.create', 'session', '01a24d5a-a54c-7460-a860-3fa1e87a3416', NULL, '{"id":"01a24d5a-a54c-7460-a860-3fa1e87a3416","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","user":"01a24d5a-a53a-750a-868a-3392590f67d9","tenant":"01a24d5a-a523-7468-aba3-6b236ca06967","created_at":"2026-12-06T21:55:15.915886Z","expires_at":"2026-12-06T22:55:15.915886Z","last_seen_at":"2026-12-06T21:55:15.915886Z","revoked_at":null,"remote_addr":"198.51.100.8"}', '198.51.100.8', '\x4d9ca134ee8aa8485e564417a2eb5e214c5f4e559828d6c88bcd6c638231dce2', '\xdefc028c5e347d51ff3215e2b5756f43e2f5e0c7bbfa286eb372b64a4bffc773');
INSERT INTO public.audit_log VALUES (22, '01a24d5a-a550-7732-ad21-410bd0b5f15a', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 1796594115919951, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'token.create', 'token', '01a24d5a-a54f-74ec-84fb-fa56684fb6a8', NULL, '{"id":"01a24d5a-a54f-74ec-84fb-fa56684fb6a8","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a523-7468-aba3-6b236ca06967","role":"analyst","owner":"01a24d5a-a51a-77e7-a730-21613eb5dc42","name":"siem export","created_at":"2026-12-06T21:55:15.919935Z","expires_at":null,"last_used_at":null,"revoked_at":null,"sensor":null}', '192.0.2.1', '\xdefc028c5e347d51ff3215e2b5756f43e2f5e0c7bbfa286eb372b64a4bffc773', '\xcd9f06933961af2d13a055a7644a907738742111baa55447e0d20cefc5945833');
INSERT INTO public.audit_log VALUES (23, '01a24d5a-a553-7742-8573-960d336b7e9a', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 1796594115923205, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'token.create', 'token', '01a24d5a-a553-7742-8573-960caf04b9fe', NULL, '{"id":"01a24d5a-a553-7742-8573-960caf04b9fe","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a529-77c6-a83d-5861aa684c8b","role":"constituent_reporter","owner":"01a24d5a-a51a-77e7-a730-21613eb5dc42","name":"old script","created_at":"2026-12-06T21:55:15.923189Z","expires_at":null,"last_used_at":null,"revoked_at":null,"sensor":null}', '192.0.2.1', '\xcd9f06933961af2d13a055a7644a907738742111baa55447e0d20cefc5945833', '\x3a777954888b14b2bb7a72cbe8a95c80fab1090476e17eb9896756dca26b06bb');
INSERT INTO public.audit_log VALUES (24, '01a24d5a-a556-73d9-a050-8f98b834d0f8', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 1796594115925559, 'user', '01a24d5a-a51a-77e7-a730-21613eb5dc42', NULL, '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'token.revoke', 'token', '01a24d5a-a553-7742-8573-960caf04b9fe', '{"id":"01a24d5a-a553-7742-8573-960caf04b9fe","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a529-77c6-a83d-5861aa684c8b","role":"constituent_reporter","owner":"01a24d5a-a51a-77e7-a730-21613eb5dc42","name":"old script","created_at":"2026-12-06T21:55:15.923189Z","expires_at":null,"last_used_at":null,"revoked_at":null,"sensor":null}', '{"id":"01a24d5a-a553-7742-8573-960caf04b9fe","instance":"01a24d5a-a516-734d-b25f-e497fa3c88c2","tenant":"01a24d5a-a529-77c6-a83d-5861aa684c8b","role":"constituent_reporter","owner":"01a24d5a-a51a-77e7-a730-21613eb5dc42","name":"old script","created_at":"2026-12-06T21:55:15.923189Z","expires_at":null,"last_used_at":null,"revoked_at":"2026-12-06T21:55:15.925559Z","sensor":null}', '192.0.2.1', '\x3a777954888b14b2bb7a72cbe8a95c80fab1090476e17eb9896756dca26b06bb', '\x3c51aa0af798f93dcc3869e3aff1be836c7d54c887c59fbd610971de59480143');


--
-- Data for Name: instance; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.instance VALUES (1, '01a24d5a-a516-734d-b25f-e497fa3c88c2');


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_migrations VALUES (1, 'initial', 1796594115813236);


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sessions VALUES ('01a24d5a-a51c-74b0-9c35-06fe9a0f98d1', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a51a-77e7-a730-21613eb5dc42', '01a24d5a-a517-75c6-9b1a-4436fcca2456', '\xcdfe58e04db217068c0a908ca8e0f4a6ad51604d87742922ef04744848d5d80c', 'E32GSoNSaftkwcGGxIM3L-Rni-hfLsUs_05580ZdMDM', '2026-12-06 21:55:15.867386+00', '2026-12-06 22:55:15.867386+00', '2026-12-06 21:55:15.867386+00', NULL, '192.0.2.1');
INSERT INTO public.sessions VALUES ('01a24d5a-a54c-7460-a860-3fa1e87a3416', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a53a-750a-868a-3392590f67d9', '01a24d5a-a523-7468-aba3-6b236ca06967', '\x795303c62a1d5d61fb419113d99635a27a3f6f483ade1b711fa7ccb0dd564ddc', 'LJKSVe-jqpVUuEvIlgKbjnBZUZtE4eD983J0DKnvEH0', '2026-12-06 21:55:15.915886+00', '2026-12-06 22:55:15.915886+00', '2026-12-06 21:55:15.915886+00', NULL, '198.51.100.8');


--
-- Data for Name: tenants; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tenants VALUES ('01a24d5a-a517-75c6-9b1a-4436fcca2456', '01a24d5a-a516-734d-b25f-e497fa3c88c2', NULL, 'National CERT', 'national', NULL, false, true, '2026-12-06 21:55:15.863404+00', '2026-12-06 21:55:15.863404+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a51f-7399-85ed-bf54a4e75e47', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'CERT Telecom', 'sectoral', 'telecom', false, true, '2026-12-06 21:55:15.871099+00', '2026-12-06 21:55:15.871099+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a520-7437-a107-a98ab66e7713', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'CERT Banking', 'sectoral', 'banking', false, true, '2026-12-06 21:55:15.872785+00', '2026-12-06 21:55:15.872785+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a523-7468-aba3-6b236ca06967', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a51f-7399-85ed-bf54a4e75e47', 'Mobile Operator', 'organisation', NULL, true, true, '2026-12-06 21:55:15.87547+00', '2026-12-06 21:55:15.87547+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a526-740c-b8c6-4ba1b3326610', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 'Mobile Operator NOC', 'organisation', NULL, false, true, '2026-12-06 21:55:15.878377+00', '2026-12-06 21:55:15.878377+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a529-77c6-a83d-5861aa684c8b', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a520-7437-a107-a98ab66e7713', 'First National Bank', 'organisation', NULL, false, true, '2026-12-06 21:55:15.881123+00', '2026-12-06 21:55:15.888578+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a52b-7731-9a0d-c041fcc4a122', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 'Card Processor', 'organisation', NULL, true, true, '2026-12-06 21:55:15.883849+00', '2026-12-06 21:55:15.892565+00');
INSERT INTO public.tenants VALUES ('01a24d5a-a52e-70b4-b733-af9911eb2822', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a51f-7399-85ed-bf54a4e75e47', 'Closed ISP', 'organisation', NULL, false, false, '2026-12-06 21:55:15.886656+00', '2026-12-06 21:55:15.895456+00');


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('01a24d5a-a51a-77e7-a730-21613eb5dc42', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a517-75c6-9b1a-4436fcca2456', 'admin', 'First Administrator', 'administrator', '$argon2id$v=19$m=8,t=1,p=1$Z27qI77P5eNqeO1a4VUGFw$Tp8N5KdzGJyz4Pa6XJ/KFs22u4JFr0NKfQ1OAQmxDlc', true, false, 0, NULL, '2026-12-06 21:55:15.866012+00', '2026-12-06 21:55:15.866012+00');
INSERT INTO public.users VALUES ('01a24d5a-a53a-750a-868a-3392590f67d9', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a523-7468-aba3-6b236ca06967', 'noc-analyst', 'noc-analyst', 'analyst', '$argon2id$v=19$m=8,t=1,p=1$VYXVvLKFCgkZ/WSpHAZRsw$0J8DUvdA1a0/Q6lycPLoEyM5Thg3H833ZIUHCA00MpE', true, false, 0, NULL, '2026-12-06 21:55:15.898477+00', '2026-12-06 21:55:15.898477+00');
INSERT INTO public.users VALUES ('01a24d5a-a53d-741c-a25c-88c7c1cff330', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a51f-7399-85ed-bf54a4e75e47', 'sector-auditor', 'sector-auditor', 'auditor', '$argon2id$v=19$m=8,t=1,p=1$k7iTCkjRPJJt/7HlzKEW3g$I4EUKNlTLeNnCm40A3h/rivug11vKbE3rlzssW+tp+M', true, false, 0, NULL, '2026-12-06 21:55:15.901441+00', '2026-12-06 21:55:15.901441+00');
INSERT INTO public.users VALUES ('01a24d5a-a543-75c9-bf06-5c6dfd5e7d8d', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a526-740c-b8c6-4ba1b3326610', 'noc-responder', 'noc-responder', 'responder', '$argon2id$v=19$m=8,t=1,p=1$kTOAM2lS4rAb6qlRyJ8zSw$KxR6CFaXY/RPWj9GNkp/qe9w8hIjdk3TkOkWa9imU1o', true, false, 0, NULL, '2026-12-06 21:55:15.907356+00', '2026-12-06 21:55:15.907356+00');
INSERT INTO public.users VALUES ('01a24d5a-a546-76cd-afb4-d40d169bf84d', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a520-7437-a107-a98ab66e7713', 'left-the-cert', 'left-the-cert', 'analyst', '$argon2id$v=19$m=8,t=1,p=1$WuWciHLuSIC/mmmdqp5nfA$xKg86l0IzO3UMXxCEFZ6NtC24KlVqcQwJZO0ylm7uoQ', false, false, 0, NULL, '2026-12-06 21:55:15.910488+00', '2026-12-06 21:55:15.913043+00');
INSERT INTO public.users VALUES ('01a24d5a-a540-76d6-ace3-793d0d4939d4', '01a24d5a-a516-734d-b25f-e497fa3c88c2', '01a24d5a-a529-77c6-a83d-5861aa684c8b', 'bank-reporter', 'bank-reporter', 'constituent_reporter', '$argon2id$v=19$m=8,t=1,p=1$ljIb8y3psFOijs3q3X7Mxw$kAqs/nWxAoOvie5cbz5MhqafEdIQA50pA7plHzqvvFc', true, false, 1, NULL, '2026-12-06 21:55:15.904274+00', '2026-12-06 21:55:15.904274+00');


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


