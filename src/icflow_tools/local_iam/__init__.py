"""IAM for the local stack: policies evaluated as AWS evaluates them, for every call a function or a job makes.

`policy` and `conditions` are the evaluator (pure); `s3_actions` and `api_actions` say which action, resource
and condition keys a request is authorized as; `authorizer` decides for a caller; `middleware` puts it in
front of moto's server, and the local SageMaker calls it for its own API.
"""
