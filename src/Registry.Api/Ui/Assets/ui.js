// Copy buttons: <button data-copy="TEXT"> or data-copy-from="ID" copies to the clipboard.
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-copy], [data-copy-from]');
  if (!button) { return; }
  var text = button.getAttribute('data-copy');
  if (text === null) {
    var source = document.getElementById(button.getAttribute('data-copy-from'));
    text = source ? source.textContent : '';
  }
  var done = function () {
    var label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
    done();
  }
});
