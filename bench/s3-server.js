#!/usr/bin/env node
// The S3 server of the benchmarks: s3rver (npm, installed under .tools/s3rver) with the two multipart listings
// it answers NotImplemented, ListMultipartUploads and ListParts. The reference registry's s3 driver needs both
// to continue an upload (each PATCH or PUT after the POST); our registry does not use them. Loopback only.
//
// usage: [S3_SERVER_PART_COPY=1] node bench/s3-server.js NODE_MODULES_DIR DATA_DIR PORT [BUCKET...]
'use strict';

const path = require('path');
const fs = require('fs/promises');

const [, , modules, directory, port, ...buckets] = process.argv;
if (!modules || !directory || !port) {
    console.error('usage: s3-server.js NODE_MODULES_DIR DATA_DIR PORT [BUCKET...]');
    process.exit(2);
}

const S3rver = require(path.join(modules, 's3rver'));
const server = new S3rver({
    address: '127.0.0.1',
    port: Number(port),
    directory,
    silent: true,
    configureBuckets: buckets.map(name => ({ name, configs: [] })),
});

const escape = text => String(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
const element = (name, value) => `<${name}>${escape(value)}</${name}>`;
const namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';

// s3rver keeps an upload in <uploads dir>/<upload id>/ with files `key`, `metadata`, and per part `N` and `N.md5`.
const uploadsDirectory = bucket => server.store.getResourcePath(bucket, undefined, 'uploads');

async function entries(dir) {
    try {
        return await fs.readdir(dir);
    } catch (error) {
        if (error.code === 'ENOENT') return [];
        throw error;
    }
}

async function listUploads(bucket, prefix) {
    const uploads = [];
    for (const id of await entries(uploadsDirectory(bucket))) {
        const dir = path.join(uploadsDirectory(bucket), id);
        let key;
        try {
            key = await fs.readFile(path.join(dir, 'key'), 'utf8');
        } catch {
            continue; // completed or aborted meanwhile
        }
        if (!key.startsWith(prefix)) continue;
        const { birthtime } = await fs.stat(dir);
        uploads.push({ key, id, initiated: birthtime });
    }
    uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated - b.initiated));
    return '<?xml version="1.0" encoding="UTF-8"?>'
        + `<ListMultipartUploadsResult xmlns="${namespace}">`
        + element('Bucket', bucket) + element('KeyMarker', '') + element('UploadIdMarker', '')
        + element('Prefix', prefix) + element('MaxUploads', 1000) + element('IsTruncated', 'false')
        + uploads.map(u => '<Upload>' + element('Key', u.key) + element('UploadId', u.id)
            + element('Initiated', u.initiated.toISOString()) + element('StorageClass', 'STANDARD') + '</Upload>').join('')
        + '</ListMultipartUploadsResult>';
}

async function listParts(bucket, key, id) {
    const dir = path.join(uploadsDirectory(bucket), path.basename(id));
    let storedKey;
    try {
        storedKey = await fs.readFile(path.join(dir, 'key'), 'utf8');
    } catch {
        return null;
    }
    if (storedKey !== key) return null;
    const parts = [];
    for (const name of await entries(dir)) {
        if (!/^\d+$/.test(name)) continue;
        const { size, mtime } = await fs.stat(path.join(dir, name));
        const md5 = await fs.readFile(path.join(dir, `${name}.md5`), 'utf8').catch(() => '');
        parts.push({ number: Number(name), size, mtime, md5 });
    }
    parts.sort((a, b) => a.number - b.number);
    return '<?xml version="1.0" encoding="UTF-8"?>'
        + `<ListPartsResult xmlns="${namespace}">`
        + element('Bucket', bucket) + element('Key', key) + element('UploadId', id)
        + element('PartNumberMarker', 0) + element('NextPartNumberMarker', parts.length ? parts[parts.length - 1].number : 0)
        + element('MaxParts', 1000) + element('IsTruncated', 'false') + element('StorageClass', 'STANDARD')
        + parts.map(p => '<Part>' + element('PartNumber', p.number) + element('LastModified', p.mtime.toISOString())
            + element('ETag', `"${p.md5}"`) + element('Size', p.size) + '</Part>').join('')
        + '</ListPartsResult>';
}

// s3rver's listing with a delimiter skips the directories beneath a common prefix before it sees their objects, so
// "a/" with delimiter "/" over the key a/b/c answers neither a/b/ nor anything (the reference lists tags that way).
// List without the delimiter and group here.
const listObjects = server.store.listObjects.bind(server.store);
server.store.listObjects = async (bucket, options) => {
    const { delimiter = '', prefix = '', maxKeys = Infinity } = options;
    if (!delimiter) return listObjects(bucket, options);
    const all = await listObjects(bucket, { ...options, delimiter: '', maxKeys: Infinity });
    const objects = [];
    const commonPrefixes = [];
    const seen = new Set();
    let isTruncated = false;
    for (const object of all.objects) {
        const rest = object.key.slice(prefix.length);
        const at = rest.indexOf(delimiter);
        const common = at === -1 ? null : prefix + rest.slice(0, at + delimiter.length);
        if (common !== null && seen.has(common)) continue;
        if (objects.length + commonPrefixes.length >= maxKeys) {
            isTruncated = true;
            break;
        }
        if (common === null) objects.push(object);
        else {
            seen.add(common);
            commonPrefixes.push(common);
        }
    }
    return { objects, commonPrefixes: commonPrefixes.sort(), isTruncated };
};

// Path-style requests only (the bench configures both registries that way).
server.middleware.unshift(async (ctx, next) => {
    if (ctx.method !== 'GET') return next();
    const segments = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments.length === 0) return next();
    const [bucket, ...rest] = segments;
    let body = null;
    if (rest.length === 0 && 'uploads' in ctx.query) {
        body = await listUploads(bucket, ctx.query.prefix || '');
    } else if (rest.length > 0 && 'uploadId' in ctx.query && !('partNumber' in ctx.query)) {
        body = await listParts(bucket, rest.join('/'), ctx.query.uploadId);
        if (body === null) {
            ctx.status = 404;
            ctx.type = 'application/xml';
            ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code>'
                + '<Message>The specified upload does not exist.</Message></Error>';
            return;
        }
    } else {
        return next();
    }
    ctx.type = 'application/xml';
    ctx.body = body;
});

// UploadPartCopy, which s3rver answers NotImplemented, when S3_SERVER_PART_COPY=1: a part made from a whole stored
// object, copied on this server's disk (as S3 copies it inside its own storage), so that a commit that assembles a
// blob from staged objects can be measured with the bytes never passing through the registry. Whole objects only
// (no x-amz-copy-source-range). Path-style requests only.
if (process.env.S3_SERVER_PART_COPY === '1') {
    const xmlError = (ctx, status, code, message) => {
        ctx.status = status;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error>' + element('Code', code) + element('Message', message) + '</Error>';
    };
    server.middleware.unshift(async (ctx, next) => {
        const source = ctx.headers['x-amz-copy-source'];
        if (ctx.method !== 'PUT' || !source || !('partNumber' in ctx.query) || !('uploadId' in ctx.query)) return next();
        if (ctx.headers['x-amz-copy-source-range']) return xmlError(ctx, 501, 'NotImplemented', 'x-amz-copy-source-range is not supported here');
        const [bucket] = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
        const [sourceBucket, ...sourceKey] = decodeURIComponent(source).replace(/^\//, '').split('/');
        const number = Number(ctx.query.partNumber);
        if (!Number.isInteger(number) || number < 1 || number > 10000) return xmlError(ctx, 400, 'InvalidArgument', 'bad partNumber');
        const uploadDir = path.join(uploadsDirectory(bucket), path.basename(ctx.query.uploadId));
        try {
            await fs.access(path.join(uploadDir, 'key'));
        } catch {
            return xmlError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
        }
        const part = path.join(uploadDir, String(number));
        try {
            await fs.copyFile(server.store.getResourcePath(sourceBucket, sourceKey.join('/'), 'object'), part);
        } catch (error) {
            if (error.code === 'ENOENT') return xmlError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
            throw error;
        }
        const metadata = await server.store.getMetadata(sourceBucket, sourceKey.join('/'));
        const md5 = JSON.parse(metadata.etag);
        await fs.writeFile(`${part}.md5`, md5);
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?>'
            + `<CopyPartResult xmlns="${namespace}">` + element('LastModified', new Date(metadata['last-modified']).toISOString())
            + element('ETag', `"${md5}"`) + '</CopyPartResult>';
    });
}

server.run().then(() => console.log(`S3 server listening on 127.0.0.1:${port}`), error => {
    console.error(error);
    process.exit(1);
});
