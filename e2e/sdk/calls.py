"""Calls the official Kloudless Python SDK (kloudless 2.0.1, unchanged) for e2e/sdk.test.mjs.

Reads one JSON object on standard input, ``{"base_url": ..., "call": NAME, "args": {...}}``,
points the SDK at ``base_url`` as a migrating app would
(``kloudless.configuration['base_url'] = ...``), makes the call NAME (one of CALLS) with
``args``, and prints its outcome as JSON: ``{"result": ...}``, or ``{"error": ...}`` when the SDK
raised one of its exceptions (its class, HTTP status and error body).
"""

import json
import sys

import kloudless
from kloudless import exceptions


def account(args):
    """An SDK Account by bearer ``token``, or by ``api_key`` and ``account_id``."""
    if 'token' in args:
        return kloudless.Account(token=args['token'])
    return kloudless.Account(api_key=args['api_key'], account_id=args['account_id'])


def verify_token(args):
    """What ``kloudless.verify_token`` returns: the token's information."""
    return kloudless.verify_token(args['app_id'], args['token'])


def get_verified_account(args):
    """The account that ``kloudless.get_verified_account`` returns, read with ``get()``."""
    verified = kloudless.get_verified_account(args['app_id'], args['token'])
    return {'account_id': verified.account_id, 'data': verified.get().data}


def get_account(args):
    """``Account(...).get()``: the account's JSON."""
    return {'data': account(args).get().data}


def delete_account(args):
    """``Account(...).delete()``: the reply's status."""
    return {'status': account(args).delete().status_code}


def list_accounts(args):
    """``Client(...).get('accounts')``: its first page, and every account through the SDK's
    paging iterator (which follows ``next_page``)."""
    auth = {'token': args['token']} if 'token' in args else {'api_key': args['api_key']}
    first = kloudless.Client(**auth).get('accounts', params=args.get('params'))
    return {
        'first': first.data,
        'all': [resource.data for resource in first.get_paging_iterator()],
    }


def raw(args):
    """``Account(...).raw(method, uri, raw_headers=..., data=...)``: the reply's status,
    content type and JSON body."""
    extra = {}
    if 'raw_headers' in args:
        extra['raw_headers'] = args['raw_headers']
    if 'data' in args:
        extra['data'] = args['data'].encode()
        extra['headers'] = {'Content-Type': 'application/octet-stream'}
    reply = account(args).raw(args['method'], args['uri'], **extra)
    return {
        'status': reply.status_code,
        'content_type': reply.headers.get('content-type'),
        'body': reply.json(),
    }


def get_authorization_url(args):
    """``kloudless.get_authorization_url(...)``: the URL to send the user to, and the state."""
    url, state = kloudless.get_authorization_url(
        args['app_id'], args['redirect_uri'], scope=args['scope'])
    return {'url': url, 'state': state}


def get_token_from_code(args):
    """``kloudless.get_token_from_code(...)`` with the query the redirect URI was given: the
    bearer token."""
    return kloudless.get_token_from_code(
        args['app_id'], args['api_key'], args['state'], args['redirect_uri'], **args['params'])


CALLS = {
    call.__name__: call
    for call in (verify_token, get_verified_account, get_account, delete_account, list_accounts,
                 raw, get_authorization_url, get_token_from_code)
}


def main():
    """Makes the call asked for on standard input and prints its outcome."""
    request = json.load(sys.stdin)
    kloudless.configuration['base_url'] = request['base_url']
    try:
        outcome = {'result': CALLS[request['call']](request['args'])}
    except exceptions.APIException as error:
        outcome = {'error': {
            'class': type(error).__name__, 'status': error.status, 'body': error.error_data,
        }}
    except exceptions.KloudlessException as error:
        outcome = {'error': {'class': type(error).__name__, 'message': str(error)}}
    json.dump(outcome, sys.stdout)


if __name__ == '__main__':
    main()
